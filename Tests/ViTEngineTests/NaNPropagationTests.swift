import Foundation
import XCTest
@testable import ViTEngine

/// `NonFiniteWeights.propagateNaN` against PyTorch: EfficientViT-M0 with NaN weights or negative
/// BatchNorm variances (`scripts/make_nan_fixtures.py`) gives NaN in exactly the logits and
/// features where PyTorch does, and the same finite values elsewhere, on every kernel tier.
final class NaNPropagationTests: XCTestCase {
    private struct Manifest: Decodable {
        struct Poison: Decodable {
            var tensor: String
            var index: Int
            var value: String
        }
        struct Case: Decodable {
            var name: String
            var logits: String
            var features: String
            var poison: [Poison]
        }
        var model: String
        var weight_seed: UInt64
        var input_seed: UInt64
        var batch: Int
        var height: Int
        var width: Int
        var cases: [Case]
    }

    private func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("nan/manifest.json"))))
    }

    /// The fixture's weights with the case's elements set; written to `path`.
    private func writeWeights(_ manifest: Manifest, _ poison: [Manifest.Poison], to path: String) throws {
        var tensors = Fixtures.generatedWeights(model: try ModelRegistry.model(named: manifest.model), seed: manifest.weight_seed)
        for p in poison {
            let t = try XCTUnwrap(tensors.firstIndex { $0.name == p.tensor }, p.tensor)
            tensors[t].values[p.index] = try XCTUnwrap(Float(p.value), p.value)
        }
        try SafeTensorsWriter.write(tensors, to: path)
    }

    func testNaNWeightsGiveNaNWherePyTorchDoesOnEveryTier() throws {
        let manifest = try manifest()
        let info = try ModelRegistry.model(named: manifest.model)
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let shape = [manifest.batch, 3, manifest.height, manifest.width]
        let input = Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: manifest.input_seed))
        XCTAssertGreaterThanOrEqual(manifest.cases.count, 5)
        for c in manifest.cases {
            let path = dir.appendingPathComponent("\(c.name).safetensors").path
            try writeWeights(manifest, c.poison, to: path)
            XCTAssertThrowsError(try Model(info: info, weights: WeightsFile.open(path: path)), "\(c.name) loaded by default")
            let model = try Model(info: info, weights: WeightsFile.open(path: path), nonFinite: .propagateNaN)
            let logits = try NPY.read(path: Fixtures.path("nan/" + c.logits))
            let features = try NPY.read(path: Fixtures.path("nan/" + c.features))
            try KernelTiers.forEach { isa in
                let prediction = try model.makeSession(batch: shape[0], height: shape[2], width: shape[3]).run(input)
                compare(prediction.logits, logits, "\(c.name) logits, \(isa)")
                compare(prediction.features, features, "\(c.name) features, \(isa)")
            }
        }
    }

    /// NaN at the same positions; elsewhere within the parity pass mark of the finite values.
    private func compare(_ mine: Tensor, _ reference: Tensor, _ what: String) {
        XCTAssertEqual(mine.shape, reference.shape, what)
        let nanMine = mine.values.map(\.isNaN), nanReference = reference.values.map(\.isNaN)
        XCTAssertEqual(nanMine, nanReference, "\(what): NaN at \(nanMine.filter { $0 }.count) positions, PyTorch at "
                       + "\(nanReference.filter { $0 }.count)")
        let finite = zip(mine.values, reference.values).filter { !$0.1.isNaN }
        guard let scale = finite.map({ abs($0.1) }).max() else { return }
        let delta = finite.map { abs($0.0 - $0.1) }.max()!
        XCTAssertLessThanOrEqual(delta, 1e-4 * scale, "\(what): finite values differ")
    }

    /// Infinite weights stay refused with the option, and say why.
    func testInfiniteWeightsAreRefusedEvenWhenNaNMayLoad() throws {
        let manifest = try manifest()
        let info = try ModelRegistry.model(named: manifest.model)
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("inf.safetensors").path
        try writeWeights(manifest, [.init(tensor: "head.linear.weight", index: 40, value: "inf")], to: path)
        XCTAssertThrowsError(try Model(info: info, weights: WeightsFile.open(path: path), nonFinite: .propagateNaN)) { error in
            guard case let .invalidWeightValue(tensor, _, reason)? = error as? EngineError else { return XCTFail("\(error)") }
            XCTAssertEqual(tensor, "head.linear.weight")
            XCTAssertTrue(reason.hasPrefix("element 40 is inf; weights must be finite (infinities are refused"), reason)
        }
    }
}
