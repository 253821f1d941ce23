/// A 1×1 expansion whose map only a depthwise convolution reads, run image by image so that the
/// map never exists for the whole batch (EfficientViT's patch merging: conv1 → ReLU → 3×3
/// stride-2 depthwise → ReLU, on a map 4× the stage's width: EfficientViT-M4's is 6.4 MB at
/// batch 16).
///
/// A work item is one image: the expansion GEMM writes that image's map into the thread's
/// scratch (400 KB for M4, which the core's L2 holds) and the depthwise convolution reads it back
/// from there, where layer by layer the batch's map went out to memory and was read back in
/// (the depthwise ran at 7–12 GFLOP/s on it). The map takes no arena slot. Every output is
/// computed by the same arithmetic as the two nodes run apart, so the bits do not change.
struct ExpansionFusion: Sendable {
    /// The pointwise node; the depthwise node that reads its map is the next one.
    var pointwise: Int
    var depthwise: Int { pointwise + 1 }
    /// Floats of one image's expanded map: each thread's scratch.
    var floatsPerThread: Int

    /// The pairs of `graph` that fuse when it runs on `threads` threads, keyed by their depthwise
    /// node (where the pair runs). Images are the work items, so a batch fuses only when its
    /// images spread evenly over the threads (``Partition/imagesSpreadEvenly(batch:threads:)``):
    /// one image on two threads keeps the two nodes, whose GEMM and rows split over both. Nor
    /// does a thread's only image: its map is no larger than the pair's scratch would be, and the
    /// fused pair holds the expansion's input until the depthwise output is written (100 KB more
    /// arena for M4 at batch 1).
    static func pairs(in graph: Graph, threads: Int) -> [Int: ExpansionFusion] {
        let batch = graph.values[graph.input.index].shape[0]
        guard batch > threads, Partition.imagesSpreadEvenly(batch: batch, threads: threads) else { return [:] }
        var pairs: [Int: ExpansionFusion] = [:]
        for (i, node) in graph.nodes.enumerated().dropLast() {
            let next = graph.nodes[i + 1]
            guard case .pointwise = node.operation, node.residual == nil, node.auxiliary.isEmpty,
                  case .depthwise = next.operation, next.input == node.output, next.residual == nil,
                  next.auxiliary.isEmpty, graph.readers(of: node.output) == [i + 1],
                  !graph.outputs.contains(node.output) else { continue }
            let map = graph.values[node.output.index]
            guard map.shape.count == 4 else { continue }  // [N, H, W, C]: a feature map
            pairs[i + 1] = ExpansionFusion(pointwise: i, floatsPerThread: map.count / batch)
        }
        return pairs
    }
}
