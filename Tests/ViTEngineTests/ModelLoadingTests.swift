import Foundation
import XCTest
@testable import ViTEngine

/// Loading checkpoints: both key layouts, the ignored buffers, and a typed error for every way a
/// weights file can disagree with the model.
final class ModelLoadingTests: XCTestCase {
    typealias Entry = (name: String, shape: [Int], values: [Float])
    let info = try! ModelRegistry.model(named: "m0")
    var directory: URL!

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func weights() -> [Entry] { Fixtures.generatedWeights(model: info, seed: 11) }

    private func load(_ tensors: [Entry], dtype: String = "F32") throws -> Model {
        let path = directory.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(tensors, dtype: dtype, to: path)
        return try Model(info: info, weights: SafeTensorsFile(path: path))
    }

    private func assertError(_ body: @autoclosure () throws -> Model, file: StaticString = #filePath,
                             line: UInt = #line, _ check: (EngineError) -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? EngineError else { return XCTFail("not an EngineError: \(error)", file: file, line: line) }
            XCTAssertFalse(e.description.isEmpty)
            check(e)
        }
    }

    /// A checkpoint of another architecture or size names every registered model it fits.
    func testCheckpointOfAnotherArchitectureSaysWhichItLooksLike() throws {
        let path = directory.appendingPathComponent("tiny.safetensors").path
        let tiny = try ModelRegistry.model(named: "vit_tiny_patch16_224")
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: tiny, seed: 1), to: path)
        for requested in ["deit3_small_patch16_224", "efficientvit_m0"] {
            assertError(try Model(info: ModelRegistry.model(named: requested), weights: SafeTensorsFile(path: path))) { e in
                guard case let .wrongModel(_, asked, matches) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(asked, requested)
                XCTAssertEqual(matches, ["vit_tiny_patch16_224", "deit_tiny_patch16_224"])
                XCTAssertTrue(e.description.contains("holds the weights of vit_tiny_patch16_224 (or of deit_tiny_patch16_224"),
                              e.description)
            }
        }
        // And an EfficientViT checkpoint asked for as a ViT.
        assertError(try Model(info: ModelRegistry.model(named: "deit_tiny_patch16_224"),
                              weights: WeightsFile.open(path: Fixtures.path("pth/m0_cream_f16.pth")))) { e in
            guard case let .wrongModel(_, _, matches) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(matches, ["efficientvit_m0"])
        }
    }

    /// EfficientFormerV2: another size of the family is named; a checkpoint built for another
    /// img_size (bias tables over other maps) fits no registered model and names the tensor.
    func testEfficientFormerV2CheckpointOfAnotherSizeOrResolution() throws {
        let path = directory.appendingPathComponent("s1.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: ModelRegistry.model(named: "efficientformerv2_s1"),
                                                            seed: 1), to: path)
        assertError(try Model(info: ModelRegistry.model(named: "efficientformerv2_s0"), weights: SafeTensorsFile(path: path))) { e in
            guard case let .wrongModel(_, asked, matches) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(asked, "efficientformerv2_s0")
            XCTAssertEqual(matches, ["efficientformerv2_s1"])
        }
        var info = try ModelRegistry.model(named: "efficientformerv2_s0")
        XCTAssertTrue(info.architecture.update(EfficientFormerV2Config.self) { $0.imgSize = [192, 160] }, "\(info.architecture)")
        let other = directory.appendingPathComponent("s0_192x160.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: info, seed: 1), to: other)
        assertError(try Model(info: ModelRegistry.model(named: "efficientformerv2_s0"), weights: SafeTensorsFile(path: other))) { e in
            XCTAssertEqual(e, .shapeMismatch(tensor: "stages.2.blocks.4.token_mixer.attention_biases", expected: [8, 49],
                                             found: [8, 30], path: other))
        }
    }

    func testMissingTensorsAreNamed() {
        let dropped = ["stages.0.blocks.0.mixer.m.attn.attention_biases", "head.bn.running_var"]
        assertError(try load(weights().filter { !dropped.contains($0.name) })) { e in
            guard case let .missingTensors(names, path) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(Set(names), Set(dropped))
            XCTAssertTrue(path.hasSuffix("w.safetensors"))
        }
    }

    func testUnexpectedTensorsAreListed() {
        let extra: [Entry] = [("head_dist.linear.weight", [2], [0, 0]), ("stages.0.blocks.7.dw0.m.conv.weight", [1], [0])]
        assertError(try load(weights() + extra)) { e in
            guard case let .unexpectedTensors(names, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(names, ["head_dist.linear.weight", "stages.0.blocks.7.dw0.m.conv.weight"])
            XCTAssertTrue(e.description.contains("head_dist.linear.weight"))
        }
    }

    func testDerivedBuffersAreIgnored() throws {
        let buffers: [Entry] = [("stages.0.blocks.0.mixer.m.attn.attention_bias_idxs", [49, 49], [Float](repeating: 1e9, count: 2401)),
                                ("head.bn.num_batches_tracked", [], [5])]
        let model = try load(weights() + buffers)
        XCTAssertEqual(model.info.name, "efficientvit_m0")
    }

    /// The benchmark's TokenLearner ViT saves its first 6 blocks a second time (as blocks 7–12,
    /// the same tensors): such a file loads and runs as the one holding each block once, and a
    /// block past the repeated ones is still an unexpected tensor.
    func testTokenLearnerCheckpointWithItsRepeatedBlocksLoads() throws {
        let model = try ModelRegistry.model(named: "token_learner_vit_8_50_tiny_patch16")
        let once = Fixtures.generatedWeights(model: model, seed: 3)
        let again = once.filter { $0.name.hasPrefix("blocks.") && Int($0.name.split(separator: ".")[1])! < 6 }
            .map { (name: "blocks.\(Int($0.name.split(separator: ".")[1])! + 7)." + $0.name.split(separator: ".").dropFirst(2).joined(separator: "."),
                    shape: $0.shape, values: $0.values) }
        XCTAssertEqual(again.count, 6 * 12)
        func logits(_ tensors: [Entry], _ file: String) throws -> [Float] {
            let path = directory.appendingPathComponent(file).path
            try SafeTensorsWriter.write(tensors, to: path)
            let input = Tensor(shape: [1, 3, 224, 224], values: Fixtures.manifest.generator.input(shape: [1, 3, 224, 224], seed: 1))
            return try Model(info: model, weights: SafeTensorsFile(path: path)).makeSession(batch: 1, height: 224, width: 224)
                .run(input).logits.values
        }
        XCTAssertEqual(try logits(once + again, "saved.safetensors"), try logits(once, "once.safetensors"))
        let path = directory.appendingPathComponent("extra.safetensors").path
        try SafeTensorsWriter.write(once + [("blocks.13.norm1.weight", [192], [Float](repeating: 1, count: 192))], to: path)
        XCTAssertThrowsError(try Model(info: model, weights: SafeTensorsFile(path: path))) { error in
            guard case let .unexpectedTensors(names, _)? = error as? EngineError else { return XCTFail("\(error)") }
            XCTAssertEqual(names, ["blocks.13.norm1.weight"])
        }
    }

    func testWrongShapeNamesTensorAndShapes() {
        let tensors = weights().map { $0.name == "head.linear.weight" ? ($0.name, [1000, 191], Array($0.values.prefix(191_000))) : $0 }
        assertError(try load(tensors)) { e in
            XCTAssertEqual(e, .shapeMismatch(tensor: "head.linear.weight", expected: [1000, 192], found: [1000, 191],
                                             path: self.directory.appendingPathComponent("w.safetensors").path))
        }
    }

    func testOneByOneConvWeightsStoredAsMatricesAreAccepted() throws {
        // The official release stores some 1×1 conv weights as [out, in]; its loader adds the
        // trailing 1×1, and so does the engine.
        let tensors = weights().map { $0.name.hasSuffix("se.fc1.weight") ? ($0.name, Array($0.shape.prefix(2)), $0.values) : $0 }
        let reference = try load(weights())
        let reshaped = try load(tensors)
        let input = Tensor(shape: [1, 3, 64, 64], values: Fixtures.manifest.generator.input(shape: [1, 3, 64, 64], seed: 3))
        XCTAssertEqual(try reshaped.predict(input), try reference.predict(input))
    }

    func testNonFloatDTypeIsRefused() throws {
        var data = try SafeTensorsWriter.encode(weights())
        let header = Data(#""head.bn.bias":{"dtype":"F32""#.utf8)
        let range = try XCTUnwrap(data.range(of: header))
        data.replaceSubrange(range, with: Data(#""head.bn.bias":{"dtype":"I32""#.utf8))
        let path = directory.appendingPathComponent("int.safetensors").path
        try data.write(to: URL(fileURLWithPath: path))
        assertError(try Model(info: info, weights: SafeTensorsFile(path: path))) { e in
            XCTAssertEqual(e, .unsupportedDType(tensor: "head.bn.bias", dtype: "I32", path: path))
        }
    }

    /// A NaN or infinity in any weight, or a negative BatchNorm variance, is refused by tensor
    /// and element: PyTorch would propagate it, the engine's folded layers would not, so the
    /// logits would differ silently. (Half precision stores infinities and NaN too.)
    func testNonFiniteWeightsAndNegativeVariancesAreRefused() throws {
        let path = directory.appendingPathComponent("w.safetensors").path
        let cases: [(String, Int, Float, String)] = [
            ("head.linear.weight", 7, .nan,
             "element 7 is nan; weights must be finite (to load NaN anyway and see it propagate as in PyTorch: vit run --allow-nan-weights)"),
            ("head.linear.bias", 0, .infinity, "element 0 is inf; weights must be finite"),
            ("patch_embed.conv1.conv.weight", 3, -.infinity, "element 3 is -inf; weights must be finite"),
            ("head.bn.running_var", 5, -1,
             "element 5 is -1.0; a BatchNorm variance cannot be negative (to load it anyway, giving NaN as in PyTorch: vit run --allow-nan-weights)"),
        ]
        for dtype in ["F32", "F16"] {
            for (name, index, value, reason) in cases {
                var tensors = weights()
                let t = try XCTUnwrap(tensors.firstIndex { $0.name == name }, name)
                tensors[t].values[index] = value
                assertError(try load(tensors, dtype: dtype)) { e in
                    XCTAssertEqual(e, .invalidWeightValue(tensor: name, path: path, reason: reason), dtype)
                }
            }
        }
        XCTAssertNoThrow(try load(weights()))
    }

    func testHalfAndBFloat16FilesLoad() throws {
        let input = Tensor(shape: [1, 3, 48, 80], values: Fixtures.manifest.generator.input(shape: [1, 3, 48, 80], seed: 5))
        let full = try load(weights()).predict(input).logits.values
        for dtype in ["F16", "BF16"] {
            let reduced = try load(weights(), dtype: dtype).predict(input).logits.values
            XCTAssertEqual(reduced.count, full.count)
            XCTAssertFalse(reduced == full, "\(dtype) rounding must change something")
            let scale = full.map(abs).max()!
            XCTAssertLessThan(zip(reduced, full).map { abs($0 - $1) }.max()!, 0.2 * scale, dtype)
        }
    }

    func testMissingFileIsReported() {
        let path = directory.appendingPathComponent("absent.safetensors").path
        XCTAssertThrowsError(try Model.load("m0", weights: path)) { error in
            guard case .fileUnreadable(path, _)? = error as? EngineError else { return XCTFail("\(error)") }
        }
    }

    func testInputShapeErrors() throws {
        let model = try load(weights())
        let session = try model.makeSession(batch: 2, height: 64, width: 64)
        XCTAssertEqual(session.inputShape, [2, 3, 64, 64])
        XCTAssertThrowsError(try session.run(Tensor(zeros: [2, 3, 64, 65]))) { error in
            XCTAssertEqual(error as? EngineError,
                           .invalidInputShape(expected: "[2, 3, 64, 64] (N×C×H×W float32)", found: [2, 3, 64, 65]))
        }
        XCTAssertThrowsError(try model.predict(Tensor(zeros: [3, 64, 64])))
        XCTAssertThrowsError(try model.makeSession(batch: 0, height: 224, width: 224))
        XCTAssertThrowsError(try model.makeSession(batch: 1, height: 100_000, width: 224))
        XCTAssertThrowsError(try model.makeSession(batch: 1_000_000, height: 2048, width: 2048)) { error in
            guard case .invalidInputShape? = error as? EngineError else { return XCTFail("\(error)") }
        }
    }

    /// Architectures tied to one input size (MLP-Mixer's token MLPs) or to a minimum (one ViT
    /// patch) say so instead of running a graph that does not fit.
    func testSizesAnArchitectureCannotRunAreRefused() throws {
        try assertRefused("mixer_b16_224", runs: (224, 224), refuses: (160, 224),
                          "224×224 only: the token-mixing MLPs are sized for 196 tokens")
        // EfficientFormerV2's attention biases are tables over the maps of its img_size.
        try assertRefused("efficientformerv2_s0", runs: (224, 224), refuses: (256, 224),
                          "224×224 only: the attention biases are sized for that input's maps (timm's img_size)")
        let vit = try Model.placeholder(ModelRegistry.model(named: "vit_tiny_patch16_224"))
        XCTAssertThrowsError(try vit.makeSession(batch: 1, height: 8, width: 224)) { error in
            guard case .invalidInputShape? = error as? EngineError else { return XCTFail("\(error)") }
        }
        // Swin's last stage (H/32 rounded up) must hold a 7×7 window for the trained bias tables.
        try assertRefused("swin_tiny_patch4_window7_224", runs: (196, 301), refuses: (192, 224),
                          "H, W ≥ 196: every stage must hold a 7×7 window (the last stage's map is H/32 rounded up); "
                              + "a smaller window would need a resized relative-position table")
    }

    /// `model` plans a session at `runs` and refuses `refuses` with `[N ≥ 1, 3, H, W] with` + `problem`.
    private func assertRefused(_ model: String, runs: (Int, Int), refuses: (Int, Int), _ problem: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let placeholder = try Model.placeholder(ModelRegistry.model(named: model))
        XCTAssertNoThrow(try placeholder.makeSession(batch: 1, height: runs.0, width: runs.1), file: file, line: line)
        XCTAssertThrowsError(try placeholder.makeSession(batch: 1, height: refuses.0, width: refuses.1),
                             file: file, line: line) { error in
            XCTAssertEqual(error as? EngineError, .invalidInputShape(expected: "[N ≥ 1, 3, H, W] with " + problem,
                                                                      found: [1, 3, refuses.0, refuses.1]),
                           file: file, line: line)
        }
    }

    func testCreamKeysMapOntoTimmKeys() {
        let cases: [(String, String)] = [
            ("patch_embed.0.c.weight", "patch_embed.conv1.conv.weight"),
            ("patch_embed.6.bn.running_var", "patch_embed.conv4.bn.running_var"),
            ("blocks1.0.mixer.m.attn.qkvs.0.bn.running_var", "stages.0.blocks.0.mixer.m.attn.qkvs.0.bn.running_var"),
            ("blocks2.0.1.m.pw1.c.weight", "stages.1.downsample.res1.1.m.pw1.conv.weight"),
            ("blocks2.1.se.conv_reduce.weight", "stages.1.downsample.patchmerge.se.fc1.weight"),
            ("blocks3.2.0.m.bn.bias", "stages.2.downsample.res2.0.m.bn.bias"),
            ("blocks3.4.mixer.m.attn.attention_biases", "stages.2.blocks.1.mixer.m.attn.attention_biases"),
            ("head.l.weight", "head.linear.weight"),
            ("stages.0.blocks.0.dw0.m.conv.weight", "stages.0.blocks.0.dw0.m.conv.weight"),
        ]
        for (cream, timm) in cases {
            XCTAssertEqual(EfficientViT.checkpointKey(cream), .tensor(timm), cream)
        }
        XCTAssertEqual(EfficientViT.checkpointKey("blocks1.0.mixer.m.attn.attention_bias_idxs"), .ignored)
        XCTAssertEqual(EfficientViT.checkpointKey("patch_embed.1.weight"), nil)
    }

    /// Swin's derived buffers (present in the official release and older timm files) are never
    /// read: the engine derives the bias index and the shift mask itself.
    func testSwinDerivedBuffersAreIgnored() {
        let key = SwinTransformer.checkpointKeyMap(names: ["layers.1.downsample.reduction.weight"])
        XCTAssertEqual(key("layers.0.blocks.1.attn.relative_position_index"), .ignored)
        XCTAssertEqual(key("layers.0.blocks.1.attn_mask"), .ignored)
        XCTAssertEqual(key("layers.0.blocks.1.attn.relative_position_bias_table"),
                       .tensor("layers.0.blocks.1.attn.relative_position_bias_table"))
        XCTAssertEqual(key("layers.1.downsample.reduction.weight"), .tensor("layers.1.downsample.reduction.weight"))
    }

    /// A file with `layers.0.downsample` is the official release's: every patch merging moves to
    /// the next stage and `head` becomes `head.fc` (the same file-wide rule as timm's converter).
    func testSwinOfficialLayoutIsToldByTheWholeFile() {
        let key = SwinTransformer.checkpointKeyMap(names: ["head.weight", "layers.0.downsample.reduction.weight"])
        XCTAssertEqual(key("layers.0.downsample.reduction.weight"), .tensor("layers.1.downsample.reduction.weight"))
        XCTAssertEqual(key("layers.1.downsample.norm.bias"), .tensor("layers.2.downsample.norm.bias"))
        XCTAssertEqual(key("head.weight"), .tensor("head.fc.weight"))
        XCTAssertEqual(key("layers.1.blocks.0.mlp.fc1.weight"), .tensor("layers.1.blocks.0.mlp.fc1.weight"))
        XCTAssertEqual(key("layers.2.blocks.1.attn_mask"), .ignored)
    }
}
