/// Runs a planned graph over one arena. The arena is allocated once, when the executor is made;
/// a run allocates nothing.
///
/// An executor is used by one caller at a time (it owns mutable memory); make one per thread,
/// or use the pooled sessions of ``Model``.
final class Executor {
    let graph: Graph
    let plan: MemoryPlan
    let parameters: ParameterStore
    private let arena: UnsafeMutableBufferPointer<Float>

    init(graph: Graph, plan: MemoryPlan, parameters: ParameterStore) {
        self.graph = graph
        self.plan = plan
        self.parameters = parameters
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(plan.arenaCount, 1) * 4, alignment: 64)
        arena = raw.bindMemory(to: Float.self)
        arena.initialize(repeating: 0)
    }

    deinit { UnsafeMutableRawBufferPointer(arena).deallocate() }

    /// Arena bytes this executor holds.
    var arenaBytes: Int { plan.arenaCount * MemoryLayout<Float>.size }

    /// Copies `input` into the graph's input value, runs every node, and hands each requested
    /// output to `read` while the arena is still valid.
    func run(input: UnsafeBufferPointer<Float>) {
        let inputInfo = graph.values[graph.input.index]
        precondition(input.count == inputInfo.count)
        pointer(graph.input).update(from: input.baseAddress!, count: input.count)
        for (i, node) in graph.nodes.enumerated() {
            execute(node, scratch: arena.baseAddress! + plan.scratchOffsets[i])
        }
    }

    /// A copy of a value after `run`.
    func read(_ v: ValueID) -> Tensor {
        let info = graph.values[v.index]
        return Tensor(shape: info.shape, values: Array(UnsafeBufferPointer(start: pointer(v), count: info.count)))
    }

    private func pointer(_ v: ValueID) -> UnsafeMutablePointer<Float> {
        arena.baseAddress! + plan.valueOffsets[v.index]
    }

    private func execute(_ node: Node, scratch: UnsafeMutablePointer<Float>) {
        let inShape = graph.values[node.input.index].shape
        let outShape = graph.values[node.output.index].shape
        let x = UnsafePointer(pointer(node.input))
        let out = pointer(node.output)
        let residual = node.residual.map { UnsafePointer(pointer($0)) }
        let batch = inShape[0]
        let inImage = inShape.dropFirst().reduce(1, *)
        let outImage = outShape.dropFirst().reduce(1, *)
        let p = parameters

        switch node.operation {
        case let .convolution(weight, bias, kernel, stride, padding, activation):
            for n in 0..<batch {
                ConvolutionKernels.dense(
                    x: x + n * inImage, cin: inShape[1], height: inShape[2], width: inShape[3],
                    weight: p[weight], bias: p[bias], cout: outShape[1], kernel: kernel, stride: stride,
                    padding: padding, activation: activation, scratch: scratch, out: out + n * outImage)
            }
        case let .pointwise(weight, bias, activation):
            for n in 0..<batch {
                ConvolutionKernels.pointwise(
                    x: x + n * inImage, cin: inShape[1], pixels: inShape[2] * inShape[3],
                    weight: p[weight], bias: p[bias], cout: outShape[1], activation: activation,
                    residual: residual.map { $0 + n * outImage }, out: out + n * outImage)
            }
        case let .depthwise(weight, bias, kernel, stride, activation):
            for n in 0..<batch {
                ConvolutionKernels.depthwise(
                    x: x + n * inImage, channels: inShape[1], height: inShape[2], width: inShape[3],
                    weight: p[weight], bias: p[bias], kernel: kernel, stride: stride,
                    activation: activation, residual: residual.map { $0 + n * outImage },
                    out: out + n * outImage)
            }
        case let .squeezeExcite(reduceWeight, reduceBias, expandWeight, expandBias, reduced):
            let channels = inShape[1]
            for n in 0..<batch {
                ReductionKernels.squeezeExcite(
                    x: x + n * inImage, channels: channels, pixels: inShape[2] * inShape[3],
                    reduceWeight: p[reduceWeight], reduceBias: p[reduceBias],
                    reduced: reduced,
                    expandWeight: p[expandWeight], expandBias: p[expandBias],
                    scratch: scratch, out: out + n * outImage)
            }
        case let .cascadedAttention(layer):
            for n in 0..<batch {
                CascadedAttentionKernel.run(
                    layer, parameters: p, x: x + n * inImage, height: inShape[2], width: inShape[3],
                    scratch: scratch, out: out + n * outImage)
            }
        case .globalAveragePool:
            for n in 0..<batch {
                ReductionKernels.averagePool(x: x + n * inImage, channels: inShape[1],
                                             pixels: inShape[2] * inShape[3], out: out + n * outImage)
            }
        case let .linear(weight, bias):
            for n in 0..<batch {
                ReductionKernels.linear(x: x + n * inImage, inFeatures: inShape[1], weight: p[weight],
                                        bias: p[bias], outFeatures: outShape[1], out: out + n * outImage)
            }
        }
    }
}
