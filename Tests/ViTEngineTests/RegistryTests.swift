import Foundation
import XCTest
@testable import ViTEngine

final class RegistryTests: XCTestCase {
    /// The registry compiled into the library is Models/registry.json, byte for byte
    /// (regenerate with scripts/embed_model_data.py).
    func testEmbeddedRegistryMatchesModelsFolder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("Models/registry.json"), encoding: .utf8)
        XCTAssertEqual(ModelData.registryJSON, file.trimmingCharacters(in: .newlines),
                       "Models/registry.json changed: run python3 scripts/embed_model_data.py")
    }

    /// The class names compiled in are Models/imagenet_labels.txt, byte for byte, one per class.
    func testEmbeddedImageNetLabelsMatchModelsFolder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("Models/imagenet_labels.txt"), encoding: .utf8)
        XCTAssertEqual(ModelData.imagenetLabels, file.trimmingCharacters(in: .newlines),
                       "Models/imagenet_labels.txt changed: run python3 scripts/embed_model_data.py")
        XCTAssertEqual(ImageNetLabels.names.count, 1000)
        for info in ModelRegistry.all {
            // The classifier's bias: the last tensor of the head (DynamicViT's token scorers follow it).
            let logits = try XCTUnwrap(Model.tensorSpec(for: info).last { !$0.name.hasPrefix("score_predictor.") })
            XCTAssertEqual(logits.shape, [ImageNetLabels.names.count], "\(info.name): classifier bias \(logits.name)")
        }
        XCTAssertEqual(ImageNetLabels.name(of: 0), "tench, Tinca tinca")
        XCTAssertEqual(ImageNetLabels.name(of: 281), "tabby, tabby cat")
        XCTAssertEqual(ImageNetLabels.name(of: 999), "toilet tissue, toilet paper, bathroom tissue")
        XCTAssertNil(ImageNetLabels.name(of: 1000))
        XCTAssertFalse(ImageNetLabels.names.contains { $0.isEmpty || $0 != $0.trimmingCharacters(in: .whitespaces) })
    }

    func testVariantsAndAliases() throws {
        XCTAssertEqual(ModelRegistry.all.filter { $0.family == "efficientvit" }.map(\.name),
                       (0...5).map { "efficientvit_m\($0)" })
        XCTAssertEqual(Set(ModelRegistry.names).count, ModelRegistry.names.count, "names are unique")
        var owner: [String: String] = [:]
        for info in ModelRegistry.all {
            for alias in [info.name] + info.aliases {
                let previous = owner.updateValue(info.name, forKey: alias.lowercased())
                XCTAssert(previous == nil || previous == info.name, "'\(alias)' names \(previous!) and \(info.name)")
            }
        }
        XCTAssertEqual(try ModelRegistry.model(named: "deit-s").name, "deit_small_patch16_224")
        XCTAssertEqual(try ModelRegistry.model(named: "M3").name, "efficientvit_m3")
        XCTAssertEqual(try ModelRegistry.model(named: "EfficientViT_M5").name, "efficientvit_m5")
        let m4 = try ModelRegistry.model(named: "efficientvit_m4")
        XCTAssertEqual(m4.preprocess.cropPct, 0.875)
        XCTAssertEqual(m4.preprocess.mean, [0.485, 0.456, 0.406])
        XCTAssertEqual(m4.published.top1, 74.3)
        XCTAssertThrowsError(try ModelRegistry.model(named: "m9")) { error in
            guard case let .unknownModel(name, available)? = error as? EngineError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "m9")
            XCTAssertTrue(available.contains("efficientvit_m0"))
        }
    }

    /// Each family reads its own fields: a ViT variant's token mixer comes with its settings, and
    /// a field of another variant's (or an unknown family) is refused by name.
    func testFamiliesReadTheirOwnFields() throws {
        func entry(_ family: String, _ extra: String) -> Data {
            Data("""
            {"name": "x", "family": "\(family)", "taxonomy": "t", "\(family)": {"patch_size": 16, "embed_dim": 192,
             "depth": 12, "num_heads": 3, "mlp_ratio": 4.0, "qkv_bias": true, "class_token": true, "no_embed_class": false,
             "layer_scale": false, "global_pool": "token", "img_size": 224, "layer_norm_eps": 1e-6, "in_channels": 3,
             "num_classes": 1000\(extra)},
             "preprocess": {"input_size": [3, 224, 224], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "crop_pct": 0.9,
                            "interpolation": "bicubic"},
             "published": {"params_millions": 5.7, "gmacs": 1.3, "source": "s"}, "weights": {}}
            """.utf8)
        }
        func mixer(_ family: String, _ extra: String) throws -> VisionTransformerConfig.TokenMixer? {
            try JSONDecoder().decode(ModelInfo.self, from: entry(family, extra)).architecture
                .configuration(as: VisionTransformerConfig.self)?.tokenMixer
        }
        XCTAssertEqual(try mixer("vit", ""), .attention)
        XCTAssertEqual(try mixer("linformer", #", "k": 64"#), .linformer(projectedLength: 64))
        XCTAssertEqual(try mixer("synthesizer", #", "synthesis": "random", "f": 8"#), .factorizedRandom(factor: 8))
        XCTAssertEqual(try mixer("evit", #", "keep_rate": 0.7, "drop_loc": [3, 6]"#),
                       .tokenRemoval(.init(keepRate: 0.7, shrinkingBlocks: [3, 6], fusesTokens: false)))
        XCTAssertThrowsError(try mixer("vit", #", "k": 64"#)) { error in
            XCTAssertTrue("\(error)".contains("'k' is not a field of a vit model"), "\(error)")
        }
        XCTAssertThrowsError(try mixer("linformer", "")) { XCTAssertTrue("\($0)".contains("k"), "\($0)") }
        XCTAssertThrowsError(try mixer("synthesizer", #", "synthesis": "dense", "f": 8"#)) { error in
            XCTAssertTrue("\(error)".contains("'f' is not a field of a synthesizer model"), "\(error)")
        }
        // Configurations the benchmark's code would not build as the engine does are refused at
        // model creation, by name: LayerScale in a Nyströmformer (it would scale the added
        // values too), DynamicViT's pruning locations out of block order.
        func refusal(_ family: String, _ extra: String, layerScale: Bool = false) throws -> String {
            var text = String(decoding: entry(family, extra), as: UTF8.self)
            if layerScale { text = text.replacingOccurrences(of: "\"layer_scale\": false", with: "\"layer_scale\": true") }
            let info = try JSONDecoder().decode(ModelInfo.self, from: Data(text.utf8))
            do { _ = try Model.placeholder(info) } catch { return "\(error)" }
            return "accepted"
        }
        XCTAssertTrue(try refusal("nystrom", #", "num_landmarks": 64"#, layerScale: true).contains("layer_scale must be false"))
        XCTAssertTrue(try refusal("dynamic_vit", #", "pruning_loc": [6, 3], "token_ratio": [0.9, 0.8]"#)
            .contains("in ascending order"))
        XCTAssertEqual(try refusal("dynamic_vit", #", "pruning_loc": [3, 6], "token_ratio": [0.9, 0.8]"#), "accepted")
        XCTAssertThrowsError(try mixer("no_such_family", "")) { XCTAssertTrue("\($0)".contains("unknown model family 'no_such_family'"), "\($0)") }
        let deit = try ModelRegistry.model(named: "deit_tiny_patch16_224")
        XCTAssertEqual(deit.architecture.configuration(as: VisionTransformerConfig.self)?.embedDim, 192)
        XCTAssertNil(deit.architecture.configuration(as: EfficientViTConfig.self))
        XCTAssertNotEqual(deit.architecture, try ModelRegistry.model(named: "m0").architecture)
    }

    /// Every family reads every tensor of its spec while building (none is checked at load and
    /// then ignored), for every registered model.
    func testEveryFamilyReadsExactlyItsTensorSpec() throws {
        for info in ModelRegistry.all {
            let spec = Model.tensorSpec(for: info)
            let tensors = CheckpointTensors.placeholder(spec: spec)
            _ = info.architecture.family.makeArchitecture(tensors: tensors)
            let unread = spec.map(\.name).filter { !tensors.read.contains($0) }
            XCTAssertEqual(unread, [], "\(info.name): tensors in the spec that the model never reads")
        }
    }

    /// The engine's tensor list for each model is exactly timm's state dict (float tensors), in
    /// timm's order (make_fixtures.py and make_zoo_fixtures.py record them).
    func testTensorSpecMatchesTimm() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("reference_tensors.json")))
        var reference = try JSONSerialization.jsonObject(with: data) as! [String: [[Any]]]
        for info in ModelRegistry.all where reference[info.name] == nil {
            let zoo = URL(fileURLWithPath: Fixtures.path("zoo/\(info.name).tensors.json"))
            guard let data = try? Data(contentsOf: zoo) else { continue }
            reference[info.name] = try JSONSerialization.jsonObject(with: data) as? [[Any]]
        }
        for info in ModelRegistry.all {
            let expected = try XCTUnwrap(reference[info.name], info.name).map { ($0[0] as! String, $0[1] as! [Int]) }
            let spec = Model.tensorSpec(for: info)
            XCTAssertEqual(spec.map(\.name), expected.map(\.0), info.name)
            XCTAssertEqual(spec.map(\.shape), expected.map(\.1), info.name)
        }
    }

    /// Parameter counts as timm reports them (BatchNorm running statistics excluded).
    func testParameterCountsMatchPublishedFigures() throws {
        for info in ModelRegistry.all {
            let spec = Model.tensorSpec(for: info)
            let params = spec.filter { !$0.name.contains("running_") }.reduce(0) { $0 + $1.shape.reduce(1, *) }
            // The paper gives one decimal, not always rounded (M0 has 2.35M, published as 2.3M).
            XCTAssertEqual(Double(params) / 1e6, info.published.paramsMillions, accuracy: 0.1, info.name)
        }
    }
}
