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
        let times = LayerTimes(nodes: fusion.pointwise..<(fusion.depthwise + 1), threads: threads,
                               profiling: !nodeNanoseconds.isEmpty)
        pool.run(items: batch) { n, thread in
            let map = scratch + thread * fusion.floatsPerThread
            let entries = times.entries(thread: thread)
            let t0 = entries == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            ConvolutionKernels.pointwise(
                x: x + n * inImage, rows: height * width, cin: inShape[3], weight: p[expandWeight],
                bias: p[expandBias], cout: hidden, activation: expandActivation, residual: nil, out: map)
            let t1 = entries == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            ConvolutionKernels.depthwise(
                x: map, channels: hidden, height: height, width: width, weight: p[weight], bias: p[bias],
                kernel: kernel, stride: stride, activation: activation,
                then: affine.map { (p[$0.scale], p[$0.shift]) }, residual: nil, out: out + n * outImage)
            if let entries {
                entries[0] += t1 - t0
                entries[1] += DispatchTime.now().uptimeNanoseconds - t1
            }
        }
        times.report(to: &nodeNanoseconds, threads: threads)
    }
}
