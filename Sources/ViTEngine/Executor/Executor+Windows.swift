/// Dispatch of Swin's nodes: window attention runs one head of one window of one image per work
/// item, patch merging blocks of output rows of one image, so every output element comes from
/// the same arithmetic whatever the batch size or thread count.
extension Executor {
    func runWindowed(_ node: Node, scratch: UnsafeMutablePointer<Float>) {
        let b = buffers(of: node)
        let (inShape, outShape, x, out, inImage, outImage) = (b.inShape, b.outShape, b.x, b.out, b.inImage, b.outImage)
        let batch = b.batch, height = inShape[1], width = inShape[2]
        let p = parameters, scratchStride = node.scratchCount

        switch node.operation {
        case let .windowAttention(layer):
            let grid = WindowAttentionKernel.windowGrid(layer, height: height, width: width)
            let perImage = grid.rows * grid.columns * layer.heads
            pool.run(items: batch * perImage) { item, thread in
                let (n, rest) = item.quotientAndRemainder(dividingBy: perImage)
                let (window, head) = rest.quotientAndRemainder(dividingBy: layer.heads)
                WindowAttentionKernel.run(layer, parameters: p, qkv: x + n * inImage, height: height, width: width,
                                          index: window, head: head, scratch: scratch + thread * scratchStride,
                                          out: out + n * outImage)
            }
        case let .patchMerging(weight, bias, epsilon):
            let parts = Partition.depthwiseRowBlocks(outputRows: outShape[1])
            pool.run(items: batch * parts.count) { item, _ in
                let (n, part) = item.quotientAndRemainder(dividingBy: parts.count)
                PatchMergingKernel.run(x: x + n * inImage, height: height, width: width, channels: inShape[3],
                                       weight: p[weight], bias: p[bias], epsilon: epsilon,
                                       outputRows: parts.range(part), out: out + n * outImage)
            }
        default:
            preconditionFailure("runWindowed: \(node.operation.kind) is not a window operation")
        }
    }
}
