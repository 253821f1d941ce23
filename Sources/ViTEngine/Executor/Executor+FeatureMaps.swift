import CKernels

/// Dispatch of EfficientFormerV2's nodes: feature-map attention runs one block of query rows of
/// one image per work item, the upsampling blocks of output rows of one image, so every output
/// element comes from the same arithmetic whatever the batch size or thread count.
extension Executor {
    func runFeatureMapLayer(_ node: Node, scratch: UnsafeMutablePointer<Float>) {
        let b = buffers(of: node)
        let (inShape, outShape, x, out, inImage, outImage) = (b.inShape, b.outShape, b.x, b.out, b.inImage, b.outImage)
        let batch = b.batch, p = parameters, scratchStride = node.scratchCount

        switch node.operation {
        case let .featureMapAttention(a):
            let keys = b.auxiliary[0], values = b.auxiliary[1]
            let queryCount = inShape[1] * inShape[2], keyCount = graph.values[node.auxiliary[0].index].rowsPerImage
            let keyWidth = a.heads * a.keyDim, valueWidth = a.heads * a.valueDim
            let mixing = a.mixScores.flatMap { s in
                a.mixProbabilities.map { w in
                    HeadAttentionKernel.HeadMixing(scoresWeight: p[s.weight], scoresBias: p[s.bias],
                                                   probabilitiesWeight: p[w.weight], probabilitiesBias: p[w.bias])
                }
            }
            let blocks = Partition.rowBlocks(rows: queryCount, rowsPerBlock: HeadAttentionKernel.rowsPerBlock)
            pool.run(items: batch * blocks.count) { item, thread in
                let (n, block) = item.quotientAndRemainder(dividingBy: blocks.count)
                HeadAttentionKernel.run(
                    heads: a.heads, keyDim: a.keyDim, valueDim: a.valueDim, scale: a.scale,
                    q: .init(base: x + n * inImage, stride: keyWidth),
                    k: .init(base: keys + n * keyCount * keyWidth, stride: keyWidth),
                    v: .init(base: values + n * keyCount * valueWidth, stride: valueWidth),
                    queries: queryCount, keys: keyCount, rows: blocks.range(block), bias: p[a.positionBias],
                    mixing: mixing, scratch: scratch + thread * scratchStride, out: out + n * outImage,
                    outStride: valueWidth)
            }
        case let .upsample2x(activation):
            let parts = Partition.depthwiseRowBlocks(outputRows: outShape[1])
            pool.run(items: batch * parts.count) { item, _ in
                let (n, part) = item.quotientAndRemainder(dividingBy: parts.count)
                let rows = parts.range(part)
                vit_upsample2x_bilinear_hwc(x + n * inImage, Int32(inShape[1]), Int32(inShape[2]), Int32(inShape[3]),
                                            activation.code, out + n * outImage, Int32(rows.lowerBound),
                                            Int32(rows.upperBound))
            }
        default:
            preconditionFailure("runFeatureMapLayer: \(node.operation.kind) is not a feature-map operation")
        }
    }
}
