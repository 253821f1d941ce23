/// While profiling, the times of layers that run together inside each work item (a streamed
/// stem's convolutions, a fused expansion and its depthwise convolution), kept per thread: each
/// thread adds to its own entries, and ``report(to:threads:)`` gives every node the threads'
/// mean — wall time, as a layer run on its own reports it, since the threads ran side by side.
/// When profiling is off nothing is allocated and ``entries(thread:)`` is nil.
struct LayerTimes {
    /// The nodes timed, consecutive in the graph; entry `l` of a thread is node `nodes.lowerBound + l`.
    let nodes: Range<Int>
    private let storage: UnsafeMutableBufferPointer<UInt64>?

    init(nodes: Range<Int>, threads: Int, profiling: Bool) {
        self.nodes = nodes
        guard profiling else { storage = nil; return }
        let storage = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: threads * nodes.count)
        storage.initialize(repeating: 0)
        self.storage = storage
    }

    /// Where `thread` adds its time of each node, or nil when not profiling.
    func entries(thread: Int) -> UnsafeMutablePointer<UInt64>? {
        storage.map { $0.baseAddress! + thread * nodes.count }
    }

    /// Adds each node's mean over the threads to `nanoseconds` and frees the entries.
    func report(to nanoseconds: inout [UInt64], threads: Int) {
        guard let storage else { return }
        for (l, node) in nodes.enumerated() {
            nanoseconds[node] += (0..<threads).reduce(UInt64(0)) { $0 + storage[$1 * nodes.count + l] } / UInt64(threads)
        }
        storage.deallocate()
    }
}
