/// A model family, seen from the engine: the configuration type its registry entries decode into
/// is the family. It says which registry `family` values it reads, checks itself, lists the
/// tensors its checkpoints hold, maps checkpoint keys onto them and builds the architecture.
///
/// Adding a family is one file that defines its configuration, conforms it, and builds the graph,
/// plus one line in ``ModelFamilies/all``; the registry, loading, conversion and the report need
/// nothing more.
protocol ModelFamily: Decodable, Sendable, Equatable {
    /// The registry's `family` values this type reads, each with the key of its object in a
    /// registry entry (`"efficientvit"`; the benchmark's ViT variants share one type).
    static var registryFamilies: [String] { get }
    /// The configuration in a registry entry's object for `family` (by default the type's own
    /// decoding; the ViT variants read their token mixer's fields by family).
    static func decode(family: String, from decoder: any Decoder) throws -> Self
    /// What makes the configuration unusable, as a typed error naming `model`.
    func validate(model: String) throws(EngineError)
    /// The tensors a checkpoint must hold, in timm's key layout, with their shapes.
    var tensorSpec: [TensorSpec] { get }
    /// How a file's keys (`names`: all of them, for layouts told apart only by the whole file)
    /// map onto the canonical names.
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey?
    /// The architecture with its parameters folded from `tensors`.
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture
}

extension ModelFamily {
    static func decode(family: String, from decoder: any Decoder) throws -> Self { try Self(from: decoder) }

    /// Whether `other` is the same configuration.
    func isEqual(to other: any ModelFamily) -> Bool { (other as? Self) == self }
}

/// Every family the engine runs. The registry's `family` field picks one by name.
enum ModelFamilies {
    static let all: [any ModelFamily.Type] = [
        EfficientViTConfig.self,
        VisionTransformerConfig.self,
        ResNetConfig.self,
        MLPMixerConfig.self,
        CaiTConfig.self,
        XCiTConfig.self,
        SwinTransformerConfig.self,
        EfficientFormerV2Config.self,
        GFNetConfig.self,
    ]

    /// The family type for each registry `family` value.
    static let byRegistryName: [String: any ModelFamily.Type] = {
        var types: [String: any ModelFamily.Type] = [:]
        for type in all {
            for name in type.registryFamilies {
                precondition(types[name] == nil, "registry family '\(name)' is claimed twice")
                types[name] = type
            }
        }
        return types
    }()
}

/// The architecture-specific part of a registry entry: one family's configuration
/// (``EfficientViTConfig``, ``VisionTransformerConfig``, ``SwinTransformerConfig``, …).
public struct ArchitectureConfig: Sendable, Equatable, CustomStringConvertible {
    private(set) var family: any ModelFamily

    init(_ family: any ModelFamily) { self.family = family }

    /// The configuration, if it is of type `C`.
    public func configuration<C>(as type: C.Type = C.self) -> C? { family as? C }

    /// Changes the configuration in place, if it is of type `C` (e.g. EfficientFormer V2's
    /// `imgSize`, which its tensors depend on); false if it is another family's.
    @discardableResult
    public mutating func update<C>(_ type: C.Type = C.self, _ change: (inout C) -> Void) -> Bool {
        guard var config = family as? C else { return false }
        change(&config)
        guard let changed = config as? any ModelFamily else { return false }
        family = changed
        return true
    }

    public static func == (a: ArchitectureConfig, b: ArchitectureConfig) -> Bool { a.family.isEqual(to: b.family) }

    public var description: String { "\(family)" }
}
