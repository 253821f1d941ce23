import CKernels

/// The leading chain of dense convolutions of a graph (a convolutional stem: each reads the
/// previous one's output and nothing else), run image by image and streamed by row bands.
///
/// A work item takes rows of one image's last map through the whole chain: to compute a block
/// of a layer's output rows it pulls the input rows that block reads into the layer's *band*
/// (a few zero-padded rows, in the layout the kernel reads), and the previous layer writes those
/// rows straight into that band. So the maps between the convolutions never exist in full: at
/// 224×224 they are the largest values of the graph (EfficientViT-M5's 112×112×24 first map
/// alone is 1.2 MB, most of its arena at batch 1), and each band is read from the core's cache
/// right after it was written. Every output row is computed by the same arithmetic as a
/// layer-by-layer run, so the bits do not change.
struct ConvolutionChain: Sendable {
    /// One convolution of the chain, with its shapes and its part of a thread's scratch.
    struct Layer: Sendable {
        /// Index of the node in the graph.
        var node: Int
        var inChannels: Int, inHeight: Int, inWidth: Int
        var kernel: Int, stride: Int, padding: Int
        var outChannels: Int, outHeight: Int, outWidth: Int
        /// Floats of one band row: an input row with `padding` zero pixels on either side.
        var bandRowFloats: Int { (inWidth + 2 * padding) * inChannels }
        /// Rows the band holds (layers after the first, which reads the caller's image): the
        /// input rows of one block of ``ConvolutionChain/rowsPerBlock`` output rows.
        var bandRows: Int { (ConvolutionChain.rowsPerBlock - 1) * stride + kernel }
        /// Where this layer's band starts in a thread's scratch (layers after the first).
        var bandOffset: Int
        /// Where the kernel's own scratch starts in a thread's scratch, and its floats.
        var kernelScratchOffset: Int
        var kernelScratchCount: Int
        /// The input rows output rows `rows` read (before clipping to the image).
        func inputRows(_ rows: Range<Int>) -> Range<Int> {
            rows.lowerBound * stride - padding ..< (rows.upperBound - 1) * stride - padding + kernel
        }
    }

    /// Output rows one kernel call computes at most: bounds every band.
    static let rowsPerBlock = ConvolutionKernels.denseRowsPerItem

    var layers: [Layer]
    /// Floats of scratch each thread needs for the whole chain (every band and kernel scratch:
    /// they are all in use at once while rows are pulled through the chain).
    var floatsPerThread: Int
    /// The chain's nodes (the first nodes of the graph).
    var nodes: Range<Int> { 0..<layers.count }

    /// The graph's leading chain of at least two dense convolutions, or nil when it has none.
    init?(_ graph: Graph) {
        var layers: [Layer] = []
        var floats = 0
        for (i, node) in graph.nodes.enumerated() {
            guard case let .convolution(_, _, _, kernel, stride, padding, _, channelsLast) = node.operation,
                  node.residual == nil, node.auxiliary.isEmpty,
                  node.input == (i == 0 ? graph.input : graph.nodes[i - 1].output),
                  // Bands are channels-last; only the first layer reads the caller's planar image.
                  channelsLast == (i > 0), kernel >= stride else { break }
            // The map passed along the chain must be read by the next convolution alone.
            if i > 0, graph.readers(of: node.input) != [i] || graph.outputs.contains(node.input) { break }
            let inShape = graph.values[node.input.index].shape, outShape = graph.values[node.output.index].shape
            let (cin, height, width) = convolutionInput(inShape, channelsLast: channelsLast)
            var layer = Layer(node: i, inChannels: cin, inHeight: height, inWidth: width, kernel: kernel, stride: stride,
                              padding: padding, outChannels: outShape[3], outHeight: outShape[1], outWidth: outShape[2],
                              bandOffset: floats, kernelScratchOffset: 0, kernelScratchCount: 0)
            if i == 0 {
                // What the node runs with layer by layer: blocks of at most `rowsPerBlock` rows.
                layer.kernelScratchCount = node.scratchCount
            } else {
                floats += layer.bandRows * layer.bandRowFloats
                layer.kernelScratchCount = ConvolutionKernels.bandScratchCount(
                    cin: cin, width: width, kernel: kernel, stride: stride, padding: padding, cout: layer.outChannels)
            }
            layer.kernelScratchOffset = floats
            floats += layer.kernelScratchCount
            layers.append(layer)
        }
        guard layers.count >= 2 else { return nil }
        self.layers = layers
        floatsPerThread = floats
    }

    /// How a batch is cut into work items: whole images when they divide evenly over the threads
    /// (or are many), else every image in `threads` parts of its last map's rows (one image on two
    /// threads: each takes half of it, pulling the rows its half reads — one or two rows per layer
    /// are computed by both). Results do not depend on the cut.
    func parts(batch: Int, threads: Int) -> Partition.Blocks {
        let parts = Partition.imagesSpreadEvenly(batch: batch, threads: threads) ? 1 : threads
        return Partition.Blocks(count: parts, length: layers[layers.count - 1].outHeight, parts: parts)
    }
}
