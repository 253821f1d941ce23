import Foundation
import ViTEngine
import XCTest
@testable import ViTImages

/// Photos → decode → preprocess → EfficientViT-M0 (fixture weights) against the PyTorch pipeline
/// (PIL + timm's eval transform + timm's model holding the same weights).
final class EndToEndTests: XCTestCase {
    func testPhotoLogitsMatchThePyTorchPipeline() throws {
        let e2e = ImageFixtures.manifest.endToEnd
        let model = try Model.load("m0", weights: ImageFixtures.weightsPath)
        let preprocessor = try ImagePreprocessor(model: model.info)
        let images = try e2e.photos.map { try ImageDecoder().decode(path: ImageFixtures.path($0)) }
        let session = try model.makeSession(batch: images.count, height: 224, width: 224)
        let logits = try session.run(preprocessor.tensor(for: images)).logits
        let reference = try NPY.read(path: ImageFixtures.path(e2e.logits))
        XCTAssertEqual(logits.shape, [4, 1000])
        XCTAssertEqual(reference.shape, [4, 1000])
        let scale = reference.values.map(abs).max()!
        let worst = zip(logits.values, reference.values).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "max |Δlogit| \(worst) vs max |logit| \(scale)")
        for n in 0..<4 {
            let row = Array(logits.values[(n * 1000)..<((n + 1) * 1000)])
            let top5 = row.indices.sorted { row[$0] > row[$1] }.prefix(5)
            XCTAssertEqual(Array(top5), e2e.top5[n], e2e.photos[n])
        }
        // The test can tell the photos apart: their logits differ by far more than the tolerance.
        let first = reference.values[0..<1000], second = reference.values[1000..<2000]
        XCTAssertGreaterThan(zip(first, second).map { abs($0 - $1) }.max()!, 10 * 1e-4 * scale)
        print("end-to-end: max |Δlogit| = \(worst), max |logit| = \(scale), relative \(worst / scale)")
    }
}
