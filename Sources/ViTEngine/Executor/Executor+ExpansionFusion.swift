import Dispatch

extension Executor {
    /// Runs a fused expansion and its depthwise convolution (see ``ExpansionFusion``) image by
    /// image: each image's map is written to the thread's `floatsPerThread` of `scratch` by the
    /// expansion GEMM and read from there by the depthwise convolution.
    func run(_ fusion: ExpansionFusion, scratch: UnsafeMutablePointer<Float>) {
        let pointwise = graph.nodes[fusion.pointwise], depthwise = graph.nodes[fusion.depthwise]
        guard case let .pointwise(expandWeight, expandBias, expandActivation) = pointwise.operation,
              case let .depthwise(weight, bias, kernel, stride, activation, affine) = depthwise.operation
        else { preconditionFailure("\(pointwise.label) and \(depthwise.label) are not an expansion and a depthwise conv") }
        let p = parameters
        let inShape = graph.values[pointwise.input.index].shape, mapShape = graph.values[pointwise.output.index].shape
        let outShape = graph.values[depthwise.output.index].shape
        let batch = inShape[0], (height, width, hidden) = (mapShape[1], mapShape[2], mapShape[3])
        let inImage = inShape.dropFirst().reduce(1, *), outImage = outShape.dropFirst().reduce(1, *)
        let x = UnsafePointer(pointer(pointwise.input)), out = pointer(depthwise.output)
        // Per-thread times of the two layers while profiling (threads write their own entries).
        let profiling = !nodeNanoseconds.isEmpty
        let threadNanoseconds: UnsafeMutableBufferPointer<UInt64> =
            profiling ? .allocate(capacity: 2 * threads) : UnsafeMutableBufferPointer(start: nil, count: 0)
        defer { if profiling { threadNanoseconds.deallocate() } }
        if profiling { threadNanoseconds.initialize(repeating: 0) }
        pool.run(items: batch) { n, thread in
            let map = scratch + thread * fusion.floatsPerThread
            let t0 = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            ConvolutionKernels.pointwise(
                x: x + n * inImage, rows: height * width, cin: inShape[3], weight: p[expandWeight],
                bias: p[expandBias], cout: hidden, activation: expandActivation, residual: nil, out: map)
            let t1 = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            ConvolutionKernels.depthwise(
                x: map, channels: hidden, height: height, width: width, weight: p[weight], bias: p[bias],
                kernel: kernel, stride: stride, activation: activation,
                then: affine.map { (p[$0.scale], p[$0.shift]) }, residual: nil, out: out + n * outImage)
            if profiling {
                threadNanoseconds[2 * thread] += t1 - t0
                threadNanoseconds[2 * thread + 1] += DispatchTime.now().uptimeNanoseconds - t1
            }
        }
        // Wall time, as the other nodes report it: the threads ran side by side.
        for (k, node) in [fusion.pointwise, fusion.depthwise].enumerated() where profiling {
            nodeNanoseconds[node] += (0..<threads).reduce(UInt64(0)) { $0 + threadNanoseconds[2 * $1 + k] } / UInt64(threads)
        }
    }
}
