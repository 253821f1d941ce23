/// An operation that one model family brings with its own kernel (GFNet's global filter, …).
///
/// The graph, the cost model and the executor reach it through this protocol alone, so a family
/// whose layer needs a fused kernel adds its model file and its kernel file and edits nothing
/// shared: no case in ``Operation``, no switch in `GraphCost` or the executor. A node of it is
/// `.family(operation)` (`GraphBuilder.add(.family(…), …)`).
///
/// The executor splits a node into `batch × itemsPerImage` independent work items spread over its
/// threads; each item gets one image's input, residual, auxiliary value (the node's first, if
/// any) and output and its thread's scratch (the node's `scratchCount` floats), and must compute
/// its outputs with the same arithmetic whatever the batch size or thread count.
protocol FamilyOperation: Sendable {
    /// A short name of the kind of layer, for profiles ("global filter").
    var kind: String { get }
    /// Multiply-accumulates per image, counted as fvcore counts matrix products, for the node's
    /// input and output shapes (the batch first, as every shape of the graph).
    func macsPerImage(input: [Int], output: [Int]) -> Int
    /// Independent work items per image, for the node's input and output shapes.
    func itemsPerImage(input: [Int], output: [Int]) -> Int
    /// Computes work item `item` of one image.
    func run(item: Int, _ image: FamilyOperationImage)
}

/// One image's buffers for a ``FamilyOperation`` work item.
struct FamilyOperationImage {
    /// The input, `input` floats of per-image shape `inputShape`.
    let x: UnsafePointer<Float>
    /// A value to add to the result (same shape as the output), or nil. It may share the output's
    /// memory (the planner's in-place add).
    let residual: UnsafePointer<Float>?
    /// The node's first auxiliary value for this image, or nil.
    let auxiliary: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    /// This thread's scratch: the node's `scratchCount` floats.
    let scratch: UnsafeMutablePointer<Float>
    /// The node's input and output shapes, the batch first (`[N, T, C]`): the graph's own arrays.
    let inputShape: [Int]
    let outputShape: [Int]
}
