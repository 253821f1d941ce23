/// A tensor a model expects from its checkpoint: its canonical (timm-layout) name and shape.
public struct TensorSpec: Sendable, Equatable {
    /// The key in timm's layout, e.g. `stages.0.blocks.0.dw0.m.conv.weight`.
    public var name: String
    public var shape: [Int]

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

/// A weights file the checkpoint loader can read: named tensors with shapes, decoded to Float on
/// request. Adopted by ``SafeTensorsFile`` and ``TorchCheckpoint``, so every format goes through
/// the same loading and checking path.
public protocol TensorSource: Sendable {
    /// The file's path, used in error messages.
    var path: String { get }
    /// The names of all tensors in the file, sorted.
    var names: [String] { get }
    /// The shape of tensor `name`, or `nil` if the file has no such tensor.
    func shape(_ name: String) -> [Int]?
    /// The dtype of tensor `name` in safetensors spelling (`"F32"`, `"F16"`, `"I64"`, …), or `nil`.
    func dtype(_ name: String) -> String?
    /// Tensor `name`'s values converted to Float, in row-major order.
    func floats(_ name: String) throws(EngineError) -> [Float]
}

/// What loading does with weights that are not finite numbers.
public enum NonFiniteWeights: Sendable, Equatable {
    /// Refuse a NaN or infinite weight, or a negative BatchNorm variance, naming the tensor and
    /// element (the default: such a checkpoint is corrupt or diverged).
    case refuse
    /// Load NaN weights and negative variances, and compute as PyTorch does: every operation
    /// propagates NaN (a negative variance makes its channel NaN, as `sqrt` of it does in
    /// PyTorch), so the same outputs are NaN. For inspecting a diverged checkpoint against its
    /// reference. Infinite weights are still refused: BatchNorm is folded into the neighbouring
    /// layer at load, which combines an infinity differently from PyTorch's separate layers
    /// (`∞ − ∞ = NaN` where PyTorch computes `±∞`), so the outputs could not match.
    case propagateNaN
}

/// What a checkpoint key stands for once an architecture's key map has read it.
enum CheckpointKey: Equatable {
    /// A model tensor, under its canonical name.
    case tensor(String)
    /// A buffer the engine derives or does not need (e.g. `attention_bias_idxs`,
    /// `num_batches_tracked`): never read, never an error.
    case ignored

    /// `key` without the wrappers a training script's state dict may carry: `torch.compile`'s
    /// `_orig_mod.` and DistributedDataParallel's `module.` (the "Which Transformer to Favor"
    /// benchmark saves both; its own loader strips them too).
    static func unwrapped(_ key: String) -> String {
        for wrapper in ["_orig_mod.", "module."] where key.hasPrefix(wrapper) {
            return unwrapped(String(key.dropFirst(wrapper.count)))
        }
        return key
    }
}

/// The tensors of a checkpoint that has been checked against the model's spec (every tensor
/// present, with its shape), decoded to Float when an architecture reads them.
///
/// Decoding on request keeps at most one raw tensor in memory while an architecture folds the
/// checkpoint into its parameter store, so loading peaks near one copy of the weights. A read
/// that fails (a corrupt compressed member, an unsupported dtype) yields zeros and is recorded in
/// ``firstError``, which the model turns into its load error; a class so that the record outlives
/// the architecture's copies of the reference.
final class CheckpointTensors {
    let path: String
    private let file: (any TensorSource)?
    /// Canonical name → the file's key.
    private let keys: [String: String]
    private let shapes: [String: [Int]]
    /// The first failure of a read, if any.
    private(set) var firstError: EngineError?
    private let nonFinite: NonFiniteWeights
    /// The canonical names an architecture has read: a spec tensor never read would be a weight
    /// checked at load and then silently ignored (the tests hold every family to its spec).
    private(set) var read: Set<String> = []

    fileprivate init(file: (any TensorSource)?, path: String, keys: [String: String], spec: [TensorSpec],
                     nonFinite: NonFiniteWeights = .refuse) {
        self.file = file
        self.path = path
        self.keys = keys
        self.nonFinite = nonFinite
        shapes = Dictionary(spec.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
    }

    /// Weights of the right shapes that are all 1 (variances) or 0 (everything else): for
    /// planning and timing a model without its checkpoint. Outputs are meaningless.
    static func placeholder(spec: [TensorSpec]) -> CheckpointTensors {
        CheckpointTensors(file: nil, path: "(placeholder weights)", keys: [:], spec: spec)
    }

    /// The tensor of that canonical name (the loader has already proven it is present).
    subscript(name: String) -> [Float] {
        let count = shape(name).reduce(1, *)
        read.insert(name)
        guard let file, let key = keys[name] else {
            return [Float](repeating: name.hasSuffix("running_var") ? 1 : 0, count: count)
        }
        do {
            let values = try file.floats(key)
            if firstError == nil, let problem = Self.valueProblem(values, name: name, nonFinite: nonFinite) {
                firstError = .invalidWeightValue(tensor: key, path: path, reason: problem)
            }
            return values
        } catch {
            firstError = firstError ?? error
            return [Float](repeating: 0, count: count)
        }
    }

    /// What makes a tensor's values unusable, if anything: a NaN or an infinity anywhere (a
    /// corrupt or diverged checkpoint), or a negative BatchNorm variance (no square root). With
    /// ``NonFiniteWeights/propagateNaN`` only infinities.
    static func valueProblem(_ values: [Float], name: String, nonFinite: NonFiniteWeights = .refuse) -> String? {
        if let index = values.firstIndex(where: \.isInfinite) {
            return "element \(index) is \(values[index]); weights must be finite" + (nonFinite == .refuse ? "" :
                " (infinities are refused even where NaN may load: BatchNorm folded into its neighbour combines an "
                + "infinity differently from PyTorch's separate layers)")
        }
        guard nonFinite == .refuse else { return nil }
        if let index = values.firstIndex(where: \.isNaN) {
            return "element \(index) is \(values[index]); weights must be finite "
                + "(to load NaN anyway and see it propagate as in PyTorch: vit run --allow-nan-weights)"
        }
        if name.hasSuffix("running_var"), let index = values.firstIndex(where: { $0 < 0 }) {
            return "element \(index) is \(values[index]); a BatchNorm variance cannot be negative "
                + "(to load it anyway, giving NaN as in PyTorch: vit run --allow-nan-weights)"
        }
        return nil
    }

    /// The shape of a tensor of the spec (the spec's shape, which the file's matched).
    func shape(_ name: String) -> [Int] {
        guard let s = shapes[name] else { preconditionFailure("tensor '\(name)' is not in the model's spec") }
        return s
    }
}

/// Reads a checkpoint against a model's tensor spec: every spec tensor must be present with its
/// shape, and every other key must be one the architecture knows to ignore. All problems of one
/// kind are reported together, so a user sees the whole list at once.
enum CheckpointLoader {
    static func load(_ file: some TensorSource, spec: [TensorSpec], keyMap: (String) -> CheckpointKey?,
                     nonFinite: NonFiniteWeights = .refuse) throws(EngineError) -> CheckpointTensors {
        var fileKeyFor: [String: String] = [:]
        var unexpected: [String] = []
        for key in file.names {
            switch keyMap(key) {
            case .ignored?:
                continue
            case .tensor(let name)?:
                if fileKeyFor[name] != nil { unexpected.append(key) } else { fileKeyFor[name] = key }
            case nil:
                unexpected.append(key)
            }
        }
        let expected = Set(spec.map(\.name))
        unexpected += fileKeyFor.filter { !expected.contains($0.key) }.map(\.value)
        let missing = spec.map(\.name).filter { fileKeyFor[$0] == nil }
        if !missing.isEmpty { throw .missingTensors(names: missing, path: file.path) }
        if !unexpected.isEmpty { throw .unexpectedTensors(names: unexpected.sorted(), path: file.path) }

        for t in spec {
            let key = fileKeyFor[t.name]!
            let found = file.shape(key)!
            guard shapeMatches(found: found, expected: t.shape) else {
                throw .shapeMismatch(tensor: key, expected: t.shape, found: found, path: file.path)
            }
        }
        return CheckpointTensors(file: file, path: file.path, keys: fileKeyFor, spec: spec, nonFinite: nonFinite)
    }

    /// Whether the file holds exactly the spec's tensors with fitting shapes (reads no data).
    static func fits(_ file: some TensorSource, spec: [TensorSpec], keyMap: (String) -> CheckpointKey?) -> Bool {
        var shapes: [String: [Int]] = [:]
        for key in file.names {
            switch keyMap(key) {
            case .ignored?: continue
            case .tensor(let name)?: shapes[name] = file.shape(key)!
            case nil: return false
            }
        }
        return shapes.count == spec.count
            && spec.allSatisfy { t in shapes[t.name].map { shapeMatches(found: $0, expected: t.shape) } ?? false }
    }

    /// Exact match, or a 1×1 convolution weight stored as the `[out, in]` matrix some
    /// checkpoints use (the official EfficientViT loader reshapes those the same way).
    static func shapeMatches(found: [Int], expected: [Int]) -> Bool {
        if found == expected { return true }
        guard found.count >= 2, found.count < expected.count else { return false }
        return Array(expected.prefix(found.count)) == found && expected.dropFirst(found.count).allSatisfy { $0 == 1 }
    }
}
