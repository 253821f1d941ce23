import Foundation

/// A loaded model: BatchNorm folded, parameters immutable, shareable between threads.
///
/// ```swift
/// let model = try Model.load("m0", weights: "efficientvit_m0.safetensors")
/// let session = try model.makeSession(batch: 1, height: 224, width: 224)
/// let prediction = try session.run(input)   // input: Tensor of shape [1, 3, 224, 224]
/// ```
public final class Model: Sendable {
    /// The registry entry the model was built from.
    public let info: ModelInfo
    /// Number of parameters in the checkpoint (before BatchNorm folding), as timm counts them.
    public let parameterCount: Int
    let architecture: any Architecture

    /// Largest input side accepted; larger inputs are refused rather than allocating without bound.
    public static let maximumSide = 8192
    /// Largest arena a session may plan (bytes).
    public static let maximumArenaBytes = 8 << 30

    /// Loads a registered model (`name` or alias, e.g. `m0`) from a weights file in either the
    /// official Cream or the timm key layout: safetensors, or a PyTorch checkpoint (`.pth`/`.bin`)
    /// read without Python. The format is detected from the file's bytes (see ``WeightsFile``).
    /// `nonFinite` says what to do with NaN weights (refused by default).
    public static func load(_ name: String, weights path: String,
                            nonFinite: NonFiniteWeights = .refuse) throws(EngineError) -> Model {
        let info = try ModelRegistry.model(named: name)
        return try Model(info: info, weights: WeightsFile.open(path: path), nonFinite: nonFinite)
    }

    /// Builds a model from a registry entry and an opened weights file (``SafeTensorsFile``,
    /// ``TorchCheckpoint``); `nonFinite` says what to do with NaN weights (refused by default).
    public convenience init(info: ModelInfo, weights file: some TensorSource,
                            nonFinite: NonFiniteWeights = .refuse) throws(EngineError) {
        try self.init(info: info, tensors: Self.checkpointTensors(file, for: info, nonFinite: nonFinite))
    }

    /// Reads and checks every tensor `info`'s model needs; when the file does not fit, says which
    /// registered model it does fit, if any.
    static func checkpointTensors(_ file: some TensorSource, for info: ModelInfo,
                                  nonFinite: NonFiniteWeights = .refuse) throws(EngineError) -> CheckpointTensors {
        do {
            return try CheckpointLoader.load(file, spec: tensorSpec(for: info), keyMap: checkpointKeyMap(info, for: file),
                                             nonFinite: nonFinite)
        } catch {
            throw otherModelFitting(file, requested: info) ?? error
        }
    }

    /// A model with placeholder weights (zeros, unit variances): the same graph, arena and speed
    /// as the real model, for planning and benchmarking without a checkpoint. Its outputs are
    /// meaningless.
    public static func placeholder(_ info: ModelInfo) throws(EngineError) -> Model {
        try Model(info: info, tensors: CheckpointTensors.placeholder(spec: tensorSpec(for: info)))
    }

    private init(info: ModelInfo, tensors: CheckpointTensors) throws(EngineError) {
        self.info = info
        let spec = Self.tensorSpec(for: info)
        parameterCount = spec.filter { !$0.name.contains(".running_") }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let family = info.architecture.family
        try family.validate(model: info.name)
        let built = family.makeArchitecture(tensors: tensors)
        if let error = tensors.firstError { throw error }
        architecture = built
    }

    /// How `file`'s tensor names map onto the model's canonical (timm) names. Most layouts are
    /// told apart key by key; Swin's official release only by the whole file.
    static func checkpointKeyMap(_ info: ModelInfo, for file: some TensorSource) -> (String) -> CheckpointKey? {
        info.architecture.family.checkpointKeyMap(names: file.names)
    }

    /// When a file does not fit the requested model, names the registered model it does fit (of
    /// any architecture).
    private static func otherModelFitting(_ file: some TensorSource, requested: ModelInfo) -> EngineError? {
        let matches = ModelRegistry.all.filter { other in
            other.name != requested.name
                && CheckpointLoader.fits(file, spec: tensorSpec(for: other), keyMap: checkpointKeyMap(other, for: file))
        }
        return matches.isEmpty ? nil : .wrongModel(path: file.path, requested: requested.name, matches: matches.map(\.name))
    }

    /// The tensors a checkpoint for `info` must hold, in timm's key layout, with their shapes.
    /// (A checkpoint in the official Cream layout holds the same tensors under Cream's names.)
    public static func tensorSpec(for info: ModelInfo) -> [TensorSpec] {
        info.architecture.family.tensorSpec
    }

    /// Plans the graph for one input shape and allocates its arena. A session is reused for
    /// every batch of that shape; it allocates nothing per run.
    ///
    /// - Parameters:
    ///   - batch: Images per run (the first dimension of every input).
    ///   - height: Input height in pixels.
    ///   - width: Input width in pixels.
    ///   - threads: Threads the session runs on (default: every core this process may use).
    ///     When the batch divides over them, each thread takes an equal share of the images
    ///     through the whole network on its own (no thread waits for another between layers);
    ///     otherwise each layer is spread over the threads. Results are bit-identical for any
    ///     thread count and batch size.
    /// - Throws: ``EngineError/kernelISA(_:)`` when `VIT_ISA` names no kernel tier or one this
    ///   CPU cannot run; ``EngineError/invalidInputShape(expected:found:)`` for a shape the model
    ///   does not take.
    public func makeSession(batch: Int, height: Int, width: Int,
                            threads: Int? = nil) throws(EngineError) -> InferenceSession {
        let threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        // A VIT_ISA the CPU cannot run is refused here rather than silently run on another tier.
        do { _ = try KernelISA.fromEnvironment() } catch { throw .kernelISA(error) }
        let expected = "[N ≥ 1, 3, H, W] with 1 ≤ H, W ≤ \(Self.maximumSide)"
        guard batch >= 1, (1...Self.maximumSide).contains(height), (1...Self.maximumSide).contains(width) else {
            throw .invalidInputShape(expected: expected, found: [batch, 3, height, width])
        }
        if let problem = architecture.inputProblem(height: height, width: width) {
            throw .invalidInputShape(expected: "[N ≥ 1, 3, H, W] with " + problem, found: [batch, 3, height, width])
        }
        let shards = threads > 1 && batch % threads == 0 ? threads : 1
        let graph = architecture.graph(batch: batch / shards, height: height, width: width)
        let plan = MemoryPlanner.plan(graph, threads: threads / shards)
        guard plan.arenaCount * shards <= Self.maximumArenaBytes / 4 else {
            throw .invalidInputShape(expected: "an input whose activations fit in \(Self.maximumArenaBytes >> 30) GiB "
                                     + "(this one needs \(plan.arenaCount * shards * 4 >> 20) MiB)",
                                     found: [batch, 3, height, width])
        }
        let executors = (0..<shards).map { _ in
            Executor(graph: graph, plan: plan, parameters: architecture.parameters,
                     pool: WorkerPool(threads: threads / shards))
        }
        return InferenceSession(executors: executors, shardPool: shards > 1 ? WorkerPool(threads: shards) : nil)
    }

    /// Runs one input of any supported shape (plans a session for it; reuse a session for speed).
    public func predict(_ input: Tensor) throws(EngineError) -> Prediction {
        guard input.shape.count == 4 else {
            throw .invalidInputShape(expected: "4 dimensions [N, 3, H, W]", found: input.shape)
        }
        return try makeSession(batch: input.shape[0], height: input.shape[2], width: input.shape[3]).run(input)
    }
}

/// The outputs of one run.
public struct Prediction: Sendable, Equatable {
    /// `[N, classes]` class scores before softmax.
    public var logits: Tensor
    /// `[N, channels]` pooled features before the classifier (timm's `pre_logits`).
    public var features: Tensor
}

/// A planned graph and its arena for one input shape. Not shareable between threads: it owns
/// the memory the run writes. Make one per thread (they share the model's parameters).
///
/// A session on several threads whose batch divides over them holds one executor (graph, plan
/// and arena) per thread for its share of the images, run side by side; otherwise one executor
/// spreads each layer over the threads.
public final class InferenceSession {
    /// One executor, or one per shard of the batch.
    let executors: [Executor]
    /// Runs the shards side by side (nil with one executor).
    private let shardPool: WorkerPool?
    /// The input shape this session runs: `[N, 3, H, W]`.
    public let inputShape: [Int]

    init(executors: [Executor], shardPool: WorkerPool?) {
        precondition(!executors.isEmpty && (executors.count == 1) == (shardPool == nil))
        self.executors = executors
        self.shardPool = shardPool
        let shard = executors[0].graph.values[executors[0].graph.input.index].shape
        inputShape = [shard[0] * executors.count] + shard.dropFirst()
    }

    /// Bytes of the arenas that hold every intermediate tensor (each planned by liveness).
    public var arenaBytes: Int { executors.reduce(0) { $0 + $1.arenaBytes } }

    /// Starts timing every layer of the following runs (see ``profile``).
    public func startProfiling() { executors.forEach { $0.startProfiling() } }

    /// Time spent per kind of layer since ``startProfiling()``, in seconds, largest first
    /// (``layerProfile`` summed by kind).
    public var profile: [(layer: String, seconds: Double, macs: Int)] {
        var byKind: [String: (Double, Int)] = [:]
        for layer in layerProfile {
            byKind[layer.kind, default: (0, 0)].0 += layer.seconds
            byKind[layer.kind, default: (0, 0)].1 += layer.macs
        }
        return byKind.map { ($0.key, $0.value.0, $0.value.1) }.sorted { $0.seconds > $1.seconds }
    }

    /// Time spent in each layer since ``startProfiling()``, in seconds, in graph order: the
    /// layer's dotted name in the reference model, its kind and its multiply-accumulates per run.
    /// With the batch in shards run side by side, a layer's time is the mean over the shards.
    public var layerProfile: [(layer: String, kind: String, seconds: Double, macs: Int)] {
        let graph = executors[0].graph
        return graph.nodes.enumerated().compactMap { i, node in
            guard i < executors[0].nodeNanoseconds.count else { return nil }
            let nanoseconds = executors.reduce(0) { $0 + $1.nodeNanoseconds[i] }
            return (node.label, node.operation.kind, Double(nanoseconds) / 1e9 / Double(executors.count),
                    graph.macs(of: node) * executors.count)
        }
    }

    /// Threads the session runs on.
    public var threads: Int { shardPool?.threads ?? executors[0].threads }

    /// Multiply-accumulates of one run (the whole batch), counted from the graph.
    public var macs: Int { executors[0].graph.macs * executors.count }

    /// Runs the model on `input`, which must have exactly ``inputShape``.
    public func run(_ input: Tensor) throws(EngineError) -> Prediction {
        guard input.shape == inputShape else {
            throw .invalidInputShape(expected: "\(inputShape) (N×C×H×W float32)", found: input.shape)
        }
        let shardCount = input.values.count / executors.count
        input.values.withUnsafeBufferPointer { values in
            guard let pool = shardPool else { return executors[0].run(input: values) }
            pool.run(items: executors.count) { shard, _ in
                executors[shard].run(input: UnsafeBufferPointer(rebasing: values[shard * shardCount ..< (shard + 1) * shardCount]))
            }
        }
        let outputs = executors[0].graph.outputs
        return Prediction(logits: read(outputs[0]), features: read(outputs[1]))
    }

    /// A graph output of the whole batch: the shards' outputs one after the other, copied once.
    private func read(_ value: ValueID) -> Tensor {
        guard executors.count > 1 else { return executors[0].read(value) }
        let shape = executors[0].graph.values[value.index].shape
        var values: [Float] = []
        values.reserveCapacity(shape.reduce(1, *) * executors.count)
        for executor in executors { executor.append(value, to: &values) }
        return Tensor(shape: [inputShape[0]] + shape.dropFirst(), values: values)
    }
}
