/// Dispatch of the ``SequenceMixer`` nodes: work items are whole images (Fourier) or one head
/// of one image (Linformer), so every output element comes from the same arithmetic whatever
/// the batch size or thread count.
extension Executor {
    func run(_ mixer: SequenceMixer, node: Node, scratch: UnsafeMutablePointer<Float>) {
        let inShape = graph.values[node.input.index].shape
        let outShape = graph.values[node.output.index].shape
        let x = UnsafePointer(pointer(node.input))
        let out = pointer(node.output)
        let residual = node.residual.map { UnsafePointer(pointer($0)) }
        let batch = inShape[0], tokens = inShape[1]
        let inImage = inShape.dropFirst().reduce(1, *), outImage = outShape.dropFirst().reduce(1, *)
        let scratchStride = node.scratchCount

        switch mixer {
        case let .linformer(tables):
            pool.run(items: batch * tables.heads) { item, thread in
                let (n, h) = item.quotientAndRemainder(dividingBy: tables.heads)
                LinformerKernel.run(tables, qkv: x + n * inImage, tokens: tokens, head: h,
                                    scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case let .fourier(tables):
            pool.run(items: batch) { n, thread in
                FourierKernel.run(tables, x: x + n * inImage, residual: residual.map { $0 + n * outImage },
                                  scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        }
    }
}
