import Foundation

/// How images are prepared for a model (timm's `pretrained_cfg` fields).
public struct PreprocessConfig: Codable, Sendable, Equatable {
    /// `[channels, height, width]` the model was trained at.
    public var inputSize: [Int]
    public var mean: [Double]
    public var std: [Double]
    /// Fraction of the resized image kept by the center crop (resize to `size / cropPct`).
    public var cropPct: Double
    public var interpolation: String

    enum CodingKeys: String, CodingKey {
        case inputSize = "input_size", mean, std, cropPct = "crop_pct", interpolation
    }

    /// Input height the model was trained and published at (`inputSize[1]`).
    public var height: Int { inputSize[1] }
    /// Input width the model was trained and published at (`inputSize[2]`).
    public var width: Int { inputSize[2] }
}

/// Figures published for a model, not measured by this engine.
public struct PublishedFigures: Codable, Sendable, Equatable {
    /// ImageNet-1k top-1 accuracy in percent; nil where no figure could be checked (the source
    /// says why).
    public var top1: Double?
    public var paramsMillions: Double
    /// Multiply-accumulates per image at the model's input size (`preprocess.input_size`), in
    /// billions (papers call these FLOPs).
    public var gmacs: Double
    /// Where the figures come from.
    public var source: String

    enum CodingKeys: String, CodingKey {
        case top1, paramsMillions = "params_millions", gmacs, source
    }
}

/// Where pretrained weights for a model are published.
public struct WeightSources: Codable, Sendable, Equatable {
    /// The authors' release (a PyTorch `.pth`).
    public var official: String?
    /// timm's safetensors file.
    public var timm: String?
    public var timmHubID: String?
    /// SHA-256 of the official file, when known; a download that differs is refused.
    public var officialSHA256: String?
    /// SHA-256 of timm's file, when known.
    public var timmSHA256: String?
    /// Where weights are published that no URL here can download (e.g. a file-sharing page), in
    /// words for a user to fetch them by hand and pass them with `--weights`.
    public var manual: String?

    enum CodingKeys: String, CodingKey {
        case official, timm, timmHubID = "timm_hub_id"
        case officialSHA256 = "official_sha256", timmSHA256 = "timm_sha256", manual
    }
}

/// One registered model: its architecture, preprocessing, published figures and weight sources.
public struct ModelInfo: Sendable, Equatable, Decodable {
    /// Canonical name, as timm names it (e.g. `efficientvit_m0`).
    public var name: String
    /// Other accepted names (e.g. `m0`).
    public var aliases: [String]
    public var family: String
    /// The model's class in the token-mixing taxonomy of Nauen et al., "Which Transformer to
    /// Favor" (WACV 2025), e.g. `baseline (ViT)`, `window (Swin)`.
    public var taxonomy: String
    public var architecture: ArchitectureConfig
    public var preprocess: PreprocessConfig
    public var published: PublishedFigures
    public var weights: WeightSources

    enum CodingKeys: String, CodingKey {
        case name, aliases, family, taxonomy, preprocess, published, weights
    }

    /// A registry entry's key for its family's object (named as the family).
    private struct FamilyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
        family = try c.decode(String.self, forKey: .family)
        taxonomy = try c.decode(String.self, forKey: .taxonomy)
        guard let type = ModelFamilies.byRegistryName[family] else {
            throw DecodingError.dataCorruptedError(forKey: .family, in: c, debugDescription: "unknown model family '\(family)'")
        }
        let objects = try decoder.container(keyedBy: FamilyKey.self)
        architecture = ArchitectureConfig(try Self.decode(type, family: family, from: objects))
        preprocess = try c.decode(PreprocessConfig.self, forKey: .preprocess)
        published = try c.decode(PublishedFigures.self, forKey: .published)
        weights = try c.decode(WeightSources.self, forKey: .weights)
    }

    private static func decode<Family: ModelFamily>(_ type: Family.Type, family: String,
                                                   from objects: KeyedDecodingContainer<FamilyKey>) throws -> Family {
        try Family.decode(family: family, from: objects.superDecoder(forKey: FamilyKey(stringValue: family)))
    }
}

/// The models this engine knows, read from `Models/registry.json` (compiled into the library).
public enum ModelRegistry {
    private struct File: Decodable {
        var version: Int
        var models: [ModelInfo]
    }

    /// Every registered model, in registry order.
    public static let all: [ModelInfo] = {
        do {
            return try JSONDecoder().decode(File.self, from: Data(ModelData.registryJSON.utf8)).models
        } catch {
            // The registry is compiled in and checked by the test suite; a failure here is a
            // build defect, not a user error.
            fatalError("Models/registry.json (compiled in) is invalid: \(error)")
        }
    }()

    /// Names and aliases of all models.
    public static var names: [String] { all.map(\.name) }

    /// Finds a model by name or alias, ignoring case.
    public static func model(named name: String) throws(EngineError) -> ModelInfo {
        let key = name.lowercased()
        if let m = all.first(where: { $0.name.lowercased() == key || $0.aliases.contains { $0.lowercased() == key } }) {
            return m
        }
        throw .unknownModel(name: name, available: names)
    }
}
