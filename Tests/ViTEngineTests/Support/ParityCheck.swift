import Foundation
import XCTest
@testable import ViTEngine

extension XCTestCase {
    /// Runs one manifest case and checks max |Δlogit| ≤ 1e-4 · max |reference logit| and the
    /// top-5 classes in the same order.
    func checkParity(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = Fixtures.fixtureCase(name)
        var info = try ModelRegistry.model(named: c.model)
        if let size = c.imgSize {
            guard info.architecture.update(EfficientFormerV2Config.self, { $0.imgSize = size }) else {
                return XCTFail("\(name): img_size given for a model whose tensors do not depend on it", file: file, line: line)
            }
        }
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }

        let weightsPath: String
        if let file = c.weightsFile {
            weightsPath = Fixtures.path(file)
        } else {
            var tensors = Fixtures.generatedWeights(model: info, seed: c.weightSeed)
            if c.layout != "timm" {
                // The file in another release's layout (Cream's, Swin's official): the same tensors
                // under the names the fixture script took from that layout.
                let keysFile = try XCTUnwrap(c.layoutKeys ?? c.creamKeys, "\(name): no key map for layout \(c.layout)")
                let keysData = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(keysFile)))
                let layoutName = try JSONDecoder().decode([String: String].self, from: keysData)
                tensors = try tensors.map { (try XCTUnwrap(layoutName[$0.name], "\($0.name) has no \(c.layout) name"),
                                             $0.shape, $0.values) }
            }
            weightsPath = dir.appendingPathComponent("weights.safetensors").path
            try SafeTensorsWriter.write(tensors, to: weightsPath)
        }
        let model = try Model(info: info, weights: WeightsFile.open(path: weightsPath))
        let shape = [c.batch, 3, c.height, c.width]
        let input = Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: c.inputSeed))
        let session = try model.makeSession(batch: c.batch, height: c.height, width: c.width)
        let prediction = try session.run(input)

        let reference = try NPY.read(path: Fixtures.path(c.logits))
        XCTAssertEqual(prediction.logits.shape, reference.shape, file: file, line: line)
        let scale = reference.values.map(abs).max()!
        let delta = zip(prediction.logits.values, reference.values).map { abs($0 - $1) }.max()!
        print("parity \(name) (\(KernelISA.current) kernels): max|Δlogit| = \(delta), max|ref| = \(scale), ratio = \(delta / scale), "
              + "arena = \(session.arenaBytes) bytes")
        XCTAssertLessThanOrEqual(delta, 1e-4 * scale, "\(name), \(KernelISA.current) kernels: logits differ", file: file, line: line)

        let classes = reference.shape[1]
        for n in 0..<c.batch {
            let row = Array(prediction.logits.values[(n * classes)..<((n + 1) * classes)])
            let top5 = row.indices.sorted { row[$0] > row[$1] }.prefix(5)
            XCTAssertEqual(Array(top5), c.top5[n], "\(name) image \(n), \(KernelISA.current) kernels: top-5 order", file: file, line: line)
        }
        if let featuresFile = c.features {
            let ref = try NPY.read(path: Fixtures.path(featuresFile))
            XCTAssertEqual(prediction.features.shape, ref.shape, file: file, line: line)
            let fScale = ref.values.map(abs).max()!
            let fDelta = zip(prediction.features.values, ref.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(fDelta, 1e-4 * fScale, "\(name): features differ", file: file, line: line)
        }
    }
}
