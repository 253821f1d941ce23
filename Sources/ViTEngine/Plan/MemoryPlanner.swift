/// Where every value and every node's scratch lives in the arena, and how big the arena is.
struct MemoryPlan: Sendable {
    /// Offset in floats of each value (indexed by `ValueID.index`); the graph's input has none
    /// (-1): the executor reads the caller's buffer in place.
    var valueOffsets: [Int]
    /// Offset in floats of each node's scratch (indexed like `Graph.nodes`).
    var scratchOffsets: [Int]
    /// Floats the arena must hold.
    var arenaCount: Int
    /// Nodes whose output shares the slot of their residual value (the residual dies there).
    var inPlaceNodes: Set<Int>
    /// The graph's leading convolutions, streamed by row bands (see ``ConvolutionChain``): the
    /// maps between them have no slot, and their bands and kernel scratch take
    /// `floatsPerThread` floats per thread at `chainScratchOffset`.
    var convolutionChain: ConvolutionChain?
    var chainScratchOffset = 0
    /// Expansions run image by image with their depthwise convolution (see ``ExpansionFusion``),
    /// keyed by the depthwise node, where the pair runs: the map between has no slot, and the
    /// depthwise node's scratch (at `scratchOffsets`) holds one map per thread.
    var expansionFusions: [Int: ExpansionFusion] = [:]
    /// Nodes that run as part of a fused pair at its depthwise node (kept, so that a run builds
    /// nothing).
    var fusedPointwiseNodes: Set<Int> = []
}

/// Assigns arena slots by liveness, in the manner of ggml's allocator: walk the nodes in order,
/// give each output (and scratch) the best-fitting free block, and return a value's block to the
/// free list after its last reader. A residual whose last reader is the node that adds it hands
/// its slot to that node's output, so `x + f(x)` is accumulated in place (when `x` is also the
/// node's input, only for operations that read each row in full before writing it: the FFN).
/// The graph's input is the caller's memory, read in place: it takes no slot and nothing is
/// written over it. A leading chain of convolutions (a convolutional stem) is streamed by row
/// bands (``ConvolutionChain``): only its last map takes a slot, its bands are scratch. A 1×1
/// expansion read only by a depthwise convolution runs with it image by image
/// (``ExpansionFusion``): its map is per-thread scratch of one image.
enum MemoryPlanner {
    /// Slots are aligned to 16 floats (64 bytes, one cache line and one AVX-512 register).
    static let alignment = 16

    /// `threads`: each node's scratch is given once per thread that may run its work items.
    /// `streamsConvolutionChain` false runs a leading chain of convolutions layer by layer, each
    /// map whole, and `fusesExpansions` false runs every expansion apart from its depthwise
    /// convolution (what the streamed and fused runs are tested against).
    static func plan(_ graph: Graph, threads: Int = 1, streamsConvolutionChain: Bool = true,
                     fusesExpansions: Bool = true) -> MemoryPlan {
        let chain = streamsConvolutionChain ? ConvolutionChain(graph) : nil
        let chainNodes = chain?.nodes ?? 0..<0
        let fusions = fusesExpansions ? ExpansionFusion.pairs(in: graph, threads: threads) : [:]
        let nodeCount = graph.nodes.count
        var lastUse = [Int](repeating: -1, count: graph.values.count)
        for (i, node) in graph.nodes.enumerated() {
            // A fused pair reads its expansion's input when its depthwise node runs.
            let at = fusions[i + 1] != nil ? i + 1 : i
            lastUse[node.input.index] = at
            if let r = node.residual { lastUse[r.index] = at }
            for v in node.auxiliary { lastUse[v.index] = at }
        }
        for out in graph.outputs { lastUse[out.index] = nodeCount }

        var free = FreeList()
        var offsets = [Int](repeating: -1, count: graph.values.count)
        var scratch = [Int](repeating: 0, count: nodeCount)
        var inPlace = Set<Int>()
        func size(_ v: ValueID) -> Int { round(graph.values[v.index].count) }

        // The chain writes its last map while its bands are in use; the maps between its
        // convolutions are never whole, so they take no slot. The bands go first, in a block of
        // at least one map of the chain's output: the stage after it alternates between that map
        // and one more of its size, which then lands in the block the bands leave rather than
        // after it (with a smaller block, EfficientViT at batch 16 needed 6 maps instead of 5).
        var chainScratch = 0
        if let chain {
            let output = graph.nodes[chainNodes.upperBound - 1].output
            let block = max(round(chain.floatsPerThread * threads), size(output))
            chainScratch = free.allocate(block)
            offsets[output.index] = free.allocate(size(output))
            free.release(offset: chainScratch, count: block)
        }

        for (i, node) in graph.nodes.enumerated() where !chainNodes.contains(i) && fusions[i + 1] == nil {
            var released: [ValueID] = []
            if let r = node.residual, r != node.input || node.operation.readsInputRowsBeforeWritingThem,
               r != graph.input, lastUse[r.index] == i,
               size(r) == size(node.output) {
                offsets[node.output.index] = offsets[r.index]
                inPlace.insert(i)
            } else {
                offsets[node.output.index] = free.allocate(size(node.output))
                if let r = node.residual, lastUse[r.index] == i { released.append(r) }
            }
            let fusion = fusions[i]
            let scratchCount = fusion?.floatsPerThread ?? node.scratchCount
            if scratchCount > 0 {
                let count = round(scratchCount * threads)
                scratch[i] = free.allocate(count)
                free.release(offset: scratch[i], count: count)
            }
            // A fused pair reads its expansion's input; the map between has no slot.
            let input = fusion.map { graph.nodes[$0.pointwise].input } ?? node.input
            if lastUse[input.index] == i { released.append(input) }
            released += node.auxiliary.filter { lastUse[$0.index] == i }
            for v in Set(released) where v != graph.input && !(inPlace.contains(i) && v == node.residual) {
                free.release(offset: offsets[v.index], count: size(v))
            }
            if lastUse[node.output.index] == -1 {
                // Nobody reads it and it is not an output: still written, so it needs its slot
                // only while this node runs.
                free.release(offset: offsets[node.output.index], count: size(node.output))
            }
        }
        return MemoryPlan(valueOffsets: offsets, scratchOffsets: scratch, arenaCount: free.end,
                          inPlaceNodes: inPlace, convolutionChain: chain, chainScratchOffset: chainScratch,
                          expansionFusions: fusions, fusedPointwiseNodes: Set(fusions.values.map(\.pointwise)))
    }

    private static func round(_ n: Int) -> Int { (max(n, 1) + alignment - 1) / alignment * alignment }
}

/// Free blocks of the arena, kept sorted by offset and coalesced.
private struct FreeList {
    private var blocks: [(offset: Int, count: Int)] = []
    private(set) var end = 0

    mutating func allocate(_ count: Int) -> Int {
        var best: Int? = nil
        for (i, b) in blocks.enumerated() where b.count >= count {
            if best == nil || b.count < blocks[best!].count { best = i }
        }
        if let i = best {
            let offset = blocks[i].offset
            if blocks[i].count == count {
                blocks.remove(at: i)
            } else {
                blocks[i] = (offset + count, blocks[i].count - count)
            }
            return offset
        }
        // No block fits: grow the arena, reusing a free block that ends at the arena's end.
        if let last = blocks.last, last.offset + last.count == end {
            blocks.removeLast()
            end = last.offset + count
            return last.offset
        }
        defer { end += count }
        return end
    }

    mutating func release(offset: Int, count: Int) {
        let i = blocks.firstIndex { $0.offset > offset } ?? blocks.count
        blocks.insert((offset, count), at: i)
        if i + 1 < blocks.count, blocks[i].offset + blocks[i].count == blocks[i + 1].offset {
            blocks[i].count += blocks[i + 1].count
            blocks.remove(at: i + 1)
        }
        if i > 0, blocks[i - 1].offset + blocks[i - 1].count == blocks[i].offset {
            blocks[i - 1].count += blocks[i].count
            blocks.remove(at: i)
        }
    }
}
