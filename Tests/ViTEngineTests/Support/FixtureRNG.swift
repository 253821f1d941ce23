import Foundation
@testable import ViTEngine

/// The deterministic generator shared with `scripts/fixture_rng.py`: fixture weights and inputs
/// are regenerated here bit for bit instead of being committed.
enum FixtureRNG {
    static func fnv1a64(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in s.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z ^= z >> 30
        z = z &* 0xbf58_476d_1ce4_e5b9
        z ^= z >> 27
        z = z &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        return z
    }

    /// `count` values uniform in [lo, hi), as `uniform(name, shape, seed, lo, hi)` in Python.
    static func uniform(name: String, count: Int, seed: UInt64, lo: Double, hi: Double) -> [Float] {
        let s = fnv1a64(name) ^ seed
        return (0..<count).map { i in
            let z = mix(s &+ UInt64(i + 1) &* 0x9e37_79b9_7f4a_7c15)
            let u = Double(z >> 40) / 16_777_216.0
            return Float(lo + (hi - lo) * u)
        }
    }
}

/// One rule of the manifest: the first whose suffix ends a tensor's name sets its range.
struct FixtureRule: Decodable {
    var suffix: String
    var lo: Double?
    var hi: Double?
    var fanInGain: Double?

    enum CodingKeys: String, CodingKey { case suffix, lo, hi, fanInGain = "fan_in_gain" }
}

struct FixtureGenerator: Decodable {
    var name: String
    var rules: [FixtureRule]
    var inputLo: Double
    var inputHi: Double
    var inputName: String

    enum CodingKeys: String, CodingKey {
        case name, rules, inputLo = "input_lo", inputHi = "input_hi", inputName = "input_name"
    }

    /// The values of a model tensor (timm name and shape) for a weight seed.
    func values(name: String, shape: [Int], seed: UInt64) -> [Float] {
        guard let rule = rules.first(where: { name.hasSuffix($0.suffix) }) else {
            fatalError("no fixture rule matches \(name)")
        }
        let count = shape.reduce(1, *)
        if let gain = rule.fanInGain {
            let a = gain / Double(shape.dropFirst().reduce(1, *)).squareRoot()
            return FixtureRNG.uniform(name: name, count: count, seed: seed, lo: -a, hi: a)
        }
        return FixtureRNG.uniform(name: name, count: count, seed: seed, lo: rule.lo!, hi: rule.hi!)
    }

    func input(shape: [Int], seed: UInt64) -> [Float] {
        FixtureRNG.uniform(name: inputName, count: shape.reduce(1, *), seed: seed, lo: inputLo, hi: inputHi)
    }
}

struct FixtureCase: Decodable {
    var name: String
    var model: String
    var batch: Int
    var height: Int
    var width: Int
    var weightSeed: UInt64
    var weightRounding: String?
    var inputSeed: UInt64
    var layout: String
    var weightsFile: String?
    var creamKeys: String?
    /// timm name → this case's layout's name, for layouts other than timm's and Cream's.
    var layoutKeys: String?
    var logits: String
    var features: String?
    var maxAbsLogit: Double
    var top5: [[Int]]
    /// The `img_size` timm built the reference with, when the model's tensors depend on it
    /// (EfficientFormerV2's attention bias tables): the test builds that configuration.
    var imgSize: [Int]?

    enum CodingKeys: String, CodingKey {
        case name, model, batch, height, width, layout, logits, features, top5, imgSize = "img_size"
        case weightSeed = "weight_seed", weightRounding = "weight_rounding", inputSeed = "input_seed"
        case weightsFile = "weights_file", creamKeys = "cream_keys", layoutKeys = "layout_keys"
        case maxAbsLogit = "max_abs_logit"
    }
}

struct FixtureManifest: Decodable {
    var generator: FixtureGenerator
    var cases: [FixtureCase]
}

/// Access to `Tests/ViTEngineTests/Fixtures`.
enum Fixtures {
    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    /// `manifest.json` (the generator and the EfficientViT cases) with the model zoo's cases,
    /// one file each in `zoo/` (scripts/make_zoo_fixtures.py).
    static let manifest: FixtureManifest = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        var manifest = try! JSONDecoder().decode(FixtureManifest.self, from: data)
        let zoo = directory.appendingPathComponent("zoo")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: zoo.path)) ?? []
        let notCases = [".tensors.json", ".layout_keys.json"]
        for file in files.sorted() where file.hasSuffix(".json") && !notCases.contains(where: file.hasSuffix) {
            let entry = try! Data(contentsOf: zoo.appendingPathComponent(file))
            manifest.cases.append(try! JSONDecoder().decode(FixtureCase.self, from: entry))
        }
        return manifest
    }()

    static func fixtureCase(_ name: String) -> FixtureCase {
        manifest.cases.first { $0.name == name }!
    }

    /// The model's full checkpoint for a weight seed, in timm names (and shapes).
    static func generatedWeights(model: ModelInfo, seed: UInt64) -> [(name: String, shape: [Int], values: [Float])] {
        Model.tensorSpec(for: model).map { t in
            (t.name, t.shape, manifest.generator.values(name: t.name, shape: t.shape, seed: seed))
        }
    }

    /// A scratch directory removed when the test ends.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vit-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
