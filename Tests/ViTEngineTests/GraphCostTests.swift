import XCTest
@testable import ViTEngine

/// Multiply-accumulates counted from the engine's own graph agree with independent published
/// figures (the EfficientViT paper's FLOPs, which count MACs, as timm's GMACs and fvcore do).
final class GraphCostTests: XCTestCase {
    /// Every registered model with a published GMACs figure, at its registry input size — the
    /// graph and size `vit report` and `vit bench` count — within 2 % of the figure. A model
    /// family added to the registry is checked as soon as its entry has `published.gmacs`.
    func testMACsMatchPublishedFigures() throws {
        var checked: [String] = []
        for info in ModelRegistry.all where info.published.gmacs > 0 {
            XCTAssertEqual(info.preprocess.inputSize.count, 3, "\(info.name): input_size is [3, H, W]")
            let session = try Model.placeholder(info).makeSession(batch: 1, height: info.preprocess.height,
                                                                  width: info.preprocess.width, threads: 1)
            let gmacs = Double(session.macs) / 1e9
            XCTAssertEqual(gmacs, info.published.gmacs, accuracy: 0.02 * info.published.gmacs,
                           "\(info.name): \(gmacs) GMACs counted, \(info.published.gmacs) published (\(info.published.source))")
            checked.append(info.name)
        }
        // The check cannot pass by checking nothing: EfficientViT M0–M5 are always among them.
        XCTAssertTrue(Set((0...5).map { "efficientvit_m\($0)" }).isSubset(of: checked), "\(checked)")
    }

    func testMACsScaleWithBatch() throws {
        let model = try Model.placeholder(ModelRegistry.model(named: "m1"))
        let one = try model.makeSession(batch: 1, height: 160, width: 192, threads: 1).macs
        XCTAssertEqual(try model.makeSession(batch: 3, height: 160, width: 192, threads: 1).macs, 3 * one)
    }
}
