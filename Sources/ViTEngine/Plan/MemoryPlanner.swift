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
    /// Leading nodes run image by image (see ``MemoryPlanner/imageMajorNodes(_:threads:)``);
    /// empty when the graph runs layer by layer throughout.
    var imageMajorNodes: Range<Int> = 0..<0
    /// Values passed between the image-major nodes: their slot holds one image per thread
    /// (thread `t`'s at `t ×` the value's per-image floats), not the whole batch.
    var perThreadValues: Set<Int> = []

    /// Floats of a value's slot (before alignment).
    func slotCount(_ graph: Graph, _ v: ValueID, threads: Int) -> Int {
        MemoryPlanner.slotCount(graph.values[v.index], perThread: perThreadValues.contains(v.index), threads: threads)
    }
}

/// Assigns arena slots by liveness, in the manner of ggml's allocator: walk the nodes in order,
/// give each output (and scratch) the best-fitting free block, and return a value's block to the
/// free list after its last reader. A residual whose last reader is the node that adds it hands
/// its slot to that node's output, so `x + f(x)` is accumulated in place (when `x` is also the
/// node's input, only for operations that read each row in full before writing it: the FFN).
/// The graph's input is the caller's memory, read in place: it takes no slot and nothing is
/// written over it.
enum MemoryPlanner {
    /// Slots are aligned to 16 floats (64 bytes, one cache line and one AVX-512 register).
    static let alignment = 16

    /// The leading chain of dense convolutions (a convolutional stem, each reading the previous
    /// one's output and nothing else) that runs image-major: every thread takes whole images
    /// through the entire chain, so an image's high-resolution maps go from one convolution to the
    /// next while they are still in the core's cache instead of the whole batch's maps streaming
    /// through memory between layers, and the maps between the convolutions take one image per
    /// thread of memory. Used when the images divide evenly over the threads (or are many), so no
    /// thread idles; otherwise (e.g. one image on two threads) the layers run one by one, each
    /// cut into row blocks. Empty when there is no chain of at least two.
    static func imageMajorNodes(_ graph: Graph, threads: Int) -> Range<Int> {
        func readers(_ v: ValueID) -> [Int] {
            graph.nodes.indices.filter { j in
                let n = graph.nodes[j]
                return n.input == v || n.residual == v || n.auxiliary.contains(v)
            }
        }
        var end = 0
        for (i, node) in graph.nodes.enumerated() {
            guard case .convolution = node.operation, node.residual == nil, node.auxiliary.isEmpty,
                  node.input == (i == 0 ? graph.input : graph.nodes[i - 1].output) else { break }
            // The map passed along the chain must be read by the next convolution alone.
            if i > 0, readers(node.input) != [i] || graph.outputs.contains(node.input) { break }
            end = i + 1
        }
        guard end >= 2 else { return 0..<0 }
        let batch = graph.values[graph.input.index].shape[0]
        guard batch % threads == 0 || batch >= 4 * threads else { return 0..<0 }
        return 0..<end
    }

    /// `threads`: each node's scratch is given once per thread that may run its work items.
    static func plan(_ graph: Graph, threads: Int = 1) -> MemoryPlan {
        let segment = imageMajorNodes(graph, threads: threads)
        let nodeCount = graph.nodes.count
        var lastUse = [Int](repeating: -1, count: graph.values.count)
        for (i, node) in graph.nodes.enumerated() {
            lastUse[node.input.index] = i
            if let r = node.residual { lastUse[r.index] = i }
            for v in node.auxiliary { lastUse[v.index] = i }
        }
        for out in graph.outputs { lastUse[out.index] = nodeCount }

        var free = FreeList()
        var offsets = [Int](repeating: -1, count: graph.values.count)
        var scratch = [Int](repeating: 0, count: nodeCount)
        var inPlace = Set<Int>()

        // Values between the image-major nodes, and the nodes' scratch, are all live for the
        // whole segment (images run through it one after another): allocated when it starts,
        // released when it ends.
        let perThread = Set(graph.nodes[segment].dropLast().map(\.output.index))
        func size(_ v: ValueID) -> Int {
            round(slotCount(graph.values[v.index], perThread: perThread.contains(v.index), threads: threads))
        }
        if !segment.isEmpty {
            for i in segment {
                offsets[graph.nodes[i].output.index] = free.allocate(size(graph.nodes[i].output))
                if graph.nodes[i].scratchCount > 0 { scratch[i] = free.allocate(round(graph.nodes[i].scratchCount * threads)) }
            }
            for i in segment {
                if graph.nodes[i].scratchCount > 0 { free.release(offset: scratch[i], count: round(graph.nodes[i].scratchCount * threads)) }
                if i < segment.upperBound - 1 {
                    free.release(offset: offsets[graph.nodes[i].output.index], count: size(graph.nodes[i].output))
                }
            }
        }

        for (i, node) in graph.nodes.enumerated() where !segment.contains(i) {
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
            if node.scratchCount > 0 {
                let count = round(node.scratchCount * threads)
                scratch[i] = free.allocate(count)
                free.release(offset: scratch[i], count: count)
            }
            if lastUse[node.input.index] == i { released.append(node.input) }
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
                          inPlaceNodes: inPlace, imageMajorNodes: segment, perThreadValues: perThread)
    }

    /// Floats of a value's slot: the whole batch, or one image per thread.
    static func slotCount(_ info: ValueInfo, perThread: Bool, threads: Int) -> Int {
        perThread ? threads * (info.count / info.shape[0]) : info.count
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
