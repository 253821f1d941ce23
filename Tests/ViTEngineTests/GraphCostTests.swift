import XCTest
@testable import ViTEngine

/// Multiply-accumulates counted from the engine's own graph agree with the published figures
/// (the EfficientViT paper's FLOPs, which count MACs, as timm's GMACs do).
final class GraphCostTests: XCTestCase {
    func testMACsMatchPublishedFigures() throws {
        for info in ModelRegistry.all {
            let session = try Model.placeholder(info).makeSession(batch: 1, height: 224, width: 224, threads: 1)
            let gmacs = Double(session.macs) / 1e9
            XCTAssertEqual(gmacs, info.published.gmacs, accuracy: 0.02 * info.published.gmacs, info.name)
        }
    }

    func testMACsScaleWithBatch() throws {
        let model = try Model.placeholder(ModelRegistry.model(named: "m1"))
        let one = try model.makeSession(batch: 1, height: 160, width: 192, threads: 1).macs
        XCTAssertEqual(try model.makeSession(batch: 3, height: 160, width: 192, threads: 1).macs, 3 * one)
    }
}
