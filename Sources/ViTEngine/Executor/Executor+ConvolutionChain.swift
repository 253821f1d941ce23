import Dispatch

extension Executor {
    /// Runs the plan's convolution chain (see ``ConvolutionChain``): each work item pulls rows of
    /// one image's last map through every layer, its bands in the thread's `floatsPerThread` of
    /// `scratch`, and writes them into the chain's output value.
    func run(_ chain: ConvolutionChain, scratch: UnsafeMutablePointer<Float>) {
        let batch = graph.values[graph.input.index].shape[0]
        let parts = chain.parts(batch: batch, threads: threads)
        let input = UnsafePointer(pointer(graph.input))
        let inImage = graph.values[graph.input.index].count / batch
        let last = chain.layers[chain.layers.count - 1]
        let output = pointer(graph.nodes[last.node].output)
        let outRow = last.outWidth * last.outChannels
        let count = chain.layers.count
        let times = LayerTimes(nodes: chain.nodes, threads: threads, profiling: !nodeNanoseconds.isEmpty)
        pool.run(items: batch * parts.count) { item, thread in
            let (n, part) = item.quotientAndRemainder(dividingBy: parts.count)
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: count) { held in
                let stream = ChainStream(executor: self, chain: chain, image: input + n * inImage,
                                         scratch: scratch + thread * chain.floatsPerThread, held: held.baseAddress!,
                                         nanoseconds: times.entries(thread: thread))
                stream.start()
                let rows = parts.range(part)
                stream.compute(count - 1, rows: rows, out: output + (n * last.outHeight + rows.lowerBound) * outRow,
                               rowStride: outRow)
            }
        }
        times.report(to: &nodeNanoseconds, threads: threads)
    }
}

/// One work item's pull of rows through a convolution chain. Layer `l > 0` reads its input rows
/// from its band, which holds input rows `held[l]` (band row 0 is `held[l].lowerBound`); a block
/// of its output rows first has the band hold exactly the rows it reads: rows the previous block
/// also read move to the top, the rest are computed by layer `l − 1` into their place (or zeroed
/// when outside the image, the convolution's padding).
private struct ChainStream {
    let executor: Executor
    let chain: ConvolutionChain
    /// The item's image, as the caller gave it (`[C, H, W]`).
    let image: UnsafePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    let held: UnsafeMutablePointer<Range<Int>>
    /// Where this thread adds each layer's kernel time while profiling.
    let nanoseconds: UnsafeMutablePointer<UInt64>?

    /// Empties every band and zeroes its padding pixels, which no layer writes.
    func start() {
        for (l, layer) in chain.layers.enumerated() {
            (held + l).initialize(to: 0..<0)
            guard l > 0, layer.padding > 0 else { continue }
            let pad = layer.padding * layer.inChannels
            for r in 0..<layer.bandRows {
                let row = scratch + layer.bandOffset + r * layer.bandRowFloats
                row.update(repeating: 0, count: pad)
                (row + layer.bandRowFloats - pad).update(repeating: 0, count: pad)
            }
        }
    }

    /// Output rows `rows` of layer `l`, row `rows.lowerBound` at `out` and each next one
    /// `rowStride` floats further, in blocks of at most ``ConvolutionChain/rowsPerBlock``.
    func compute(_ l: Int, rows: Range<Int>, out: UnsafeMutablePointer<Float>, rowStride: Int) {
        let layer = chain.layers[l], node = executor.graph.nodes[layer.node]
        guard case let .convolution(weight, outerRowsSum, bias, kernel, stride, padding, activation, _) = node.operation
        else { preconditionFailure("\(node.label) is not a dense convolution") }
        let p = executor.parameters
        var first = rows.lowerBound
        while first < rows.upperBound {
            let block = first..<min(rows.upperBound, first + ConvolutionChain.rowsPerBlock)
            let target = out + (first - rows.lowerBound) * rowStride
            if l > 0 { pull(l, layer.inputRows(block)) }
            let t0 = nanoseconds == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            if l == 0 {
                ConvolutionKernels.dense(
                    x: image, channelsLast: false, cin: layer.inChannels, height: layer.inHeight, width: layer.inWidth,
                    weight: p[weight], outerRowsSum: outerRowsSum.map { p[$0] }, bias: p[bias], cout: layer.outChannels,
                    kernel: kernel, stride: stride, padding: padding, activation: activation, outputRows: block,
                    scratch: scratch + layer.kernelScratchOffset, out: target, outRowStride: rowStride)
            } else {
                ConvolutionKernels.band(
                    scratch + layer.bandOffset, cin: layer.inChannels, width: layer.inWidth, weight: p[weight],
                    outerRowsSum: outerRowsSum.map { p[$0] }, bias: p[bias], cout: layer.outChannels, kernel: kernel,
                    stride: stride, padding: padding, activation: activation, outputRows: block,
                    scratch: scratch + layer.kernelScratchOffset, out: target, outRowStride: rowStride)
            }
            if let nanoseconds { nanoseconds[l] += DispatchTime.now().uptimeNanoseconds - t0 }
            first = block.upperBound
        }
    }

    /// Makes layer `l`'s band hold input rows `needed` (at most its `bandRows`), from its top.
    private func pull(_ l: Int, _ needed: Range<Int>) {
        let layer = chain.layers[l], band = scratch + layer.bandOffset, rowFloats = layer.bandRowFloats
        var have = held[l]
        if needed.lowerBound < have.lowerBound || needed.lowerBound >= have.upperBound {
            have = needed.lowerBound..<needed.lowerBound
        } else if needed.lowerBound > have.lowerBound {
            // The rows this block shares with the previous one (k − s of them), to the top.
            let kept = have.upperBound - needed.lowerBound
            UnsafeMutableRawPointer(band).copyMemory(from: band + (needed.lowerBound - have.lowerBound) * rowFloats,
                                                     byteCount: kept * rowFloats * MemoryLayout<Float>.size)
            have = needed.lowerBound..<have.upperBound
        }
        var r = have.upperBound
        while r < needed.upperBound {
            let row = band + (r - have.lowerBound) * rowFloats
            if r < 0 || r >= layer.inHeight {
                row.update(repeating: 0, count: rowFloats)
                r += 1
                continue
            }
            let end = min(needed.upperBound, layer.inHeight)
            compute(l - 1, rows: r..<end, out: row + layer.padding * layer.inChannels, rowStride: rowFloats)
            r = end
        }
        held[l] = have.lowerBound..<needed.upperBound
    }
}
