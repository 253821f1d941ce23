import CKernels
import Dispatch

/// Runs a planned graph over one arena. The arena is allocated once, when the executor is made;
/// a run allocates nothing.
///
/// An executor is used by one caller at a time (it owns mutable memory); make one per thread,
/// or use the pooled sessions of ``Model``.
final class Executor {
    let graph: Graph
    let plan: MemoryPlan
    let parameters: ParameterStore
    private let arena: UnsafeMutableBufferPointer<Float>

    let pool: WorkerPool

    init(graph: Graph, plan: MemoryPlan, parameters: ParameterStore, pool: WorkerPool) {
        BLASRuntime.prepare()
        self.graph = graph
        self.plan = plan
        self.parameters = parameters
        self.pool = pool
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(plan.arenaCount, 1) * 4, alignment: 64)
        arena = raw.bindMemory(to: Float.self)
        arena.initialize(repeating: 0)
    }

    deinit { UnsafeMutableRawBufferPointer(arena).deallocate() }

    var threads: Int { pool.threads }

    /// Arena bytes this executor holds.
    var arenaBytes: Int { plan.arenaCount * MemoryLayout<Float>.size }

    /// Runs the graph on the caller's input, which is read in place (not copied into the arena)
    /// and only for the duration of the call.
    func run(input: UnsafeBufferPointer<Float>) {
        let inputInfo = graph.values[graph.input.index]
        precondition(input.count == inputInfo.count)
        callerInput = input.baseAddress!
        defer { callerInput = nil }
        let chainNodes = plan.convolutionChain?.nodes ?? 0..<0
        if let chain = plan.convolutionChain { run(chain, scratch: arena.baseAddress! + plan.chainScratchOffset) }
        for (i, node) in graph.nodes.enumerated() where !chainNodes.contains(i) && !plan.fusedPointwiseNodes.contains(i) {
            let scratch = arena.baseAddress! + plan.scratchOffsets[i]
            if let fusion = plan.expansionFusions[i] {
                run(fusion, scratch: scratch)  // times its two nodes itself
            } else if nodeNanoseconds.isEmpty {
                execute(node, scratch: scratch)
            } else {
                let t0 = DispatchTime.now().uptimeNanoseconds
                execute(node, scratch: scratch)
                nodeNanoseconds[i] += DispatchTime.now().uptimeNanoseconds - t0
            }
        }
    }

    /// Output rows `outputRows` (at most ``ConvolutionKernels/denseRowsPerItem``) of one image of
    /// a dense convolution node into the whole output image.
    private func convolve(_ node: Node, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                          outputRows: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        guard case let .convolution(weight, outerRowsSum, bias, kernel, stride, padding, activation, channelsLast) = node.operation
        else { preconditionFailure("\(node.label) is not a dense convolution") }
        let inShape = graph.values[node.input.index].shape, outShape = graph.values[node.output.index].shape
        let (cin, height, width) = convolutionInput(inShape, channelsLast: channelsLast)
        let p = parameters, outRow = outShape[2] * outShape[3]
        ConvolutionKernels.dense(
            x: x, channelsLast: channelsLast, cin: cin, height: height, width: width, weight: p[weight],
            outerRowsSum: outerRowsSum.map { p[$0] }, bias: p[bias], cout: outShape[3], kernel: kernel, stride: stride,
            padding: padding, activation: activation, outputRows: outputRows, scratch: scratch,
            out: out + outputRows.lowerBound * outRow, outRowStride: outRow)
    }

    /// Accumulated time per node while profiling is on (empty when off).
    var nodeNanoseconds: [UInt64] = []

    /// Starts (or restarts) accumulating time per node.
    func startProfiling() { nodeNanoseconds = [UInt64](repeating: 0, count: graph.nodes.count) }

    /// A copy of a value after `run`.
    func read(_ v: ValueID) -> Tensor {
        let info = graph.values[v.index]
        return Tensor(shape: info.shape, values: Array(UnsafeBufferPointer(start: pointer(v), count: info.count)))
    }

    /// Appends a value after `run` to `values` (a sharded session's output, gathered in one array).
    func append(_ v: ValueID, to values: inout [Float]) {
        values.append(contentsOf: UnsafeBufferPointer(start: pointer(v), count: graph.values[v.index].count))
    }

    /// The caller's input during `run`.
    private var callerInput: UnsafePointer<Float>?

    /// Where a value lives. The input is the caller's buffer: no node writes to it (the planner
    /// never places an output there), so the mutable view is only ever read.
    func pointer(_ v: ValueID) -> UnsafeMutablePointer<Float> {
        if v == graph.input { return UnsafeMutablePointer(mutating: callerInput!) }
        return arena.baseAddress! + plan.valueOffsets[v.index]
    }

    /// What a dispatch reads of a node: its shapes, buffers and per-image sizes.
    struct NodeBuffers {
        let inShape: [Int]
        let outShape: [Int]
        let x: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
        let residual: UnsafePointer<Float>?
        let auxiliary: [UnsafePointer<Float>]
        /// Floats of one image of the input and of the output.
        let inImage: Int
        let outImage: Int
        var batch: Int { inShape[0] }
    }

    func buffers(of node: Node) -> NodeBuffers {
        let inShape = graph.values[node.input.index].shape, outShape = graph.values[node.output.index].shape
        return NodeBuffers(inShape: inShape, outShape: outShape, x: UnsafePointer(pointer(node.input)),
                           out: pointer(node.output), residual: node.residual.map { UnsafePointer(pointer($0)) },
                           auxiliary: node.auxiliary.map { UnsafePointer(pointer($0)) },
                           inImage: inShape.dropFirst().reduce(1, *), outImage: outShape.dropFirst().reduce(1, *))
    }

    /// A node's rows (pixels or tokens of every image; an image's features for a classifier head)
    /// times its packed weight, as one GEMM over the rows of the whole batch (``gemm``).
    private func packedGEMM(_ node: Node, weight: ParamID, bias: ParamID, activation: Activation) {
        let b = buffers(of: node)
        gemm(x: b.x, rows: b.batch * graph.values[node.input.index].rowsPerImage, cin: b.inShape.last!,
             weight: weight, bias: bias, cout: b.outShape.last!, activation: activation, residual: b.residual,
             out: b.out)
    }

    /// `out[rows × cout] = activation(x · W + bias + residual)` spread over the pool: the packed
    /// GEMM computes every output row with the same arithmetic whatever block it falls in (K is
    /// never split), so blocks may span images without changing any result, and a batch reuses
    /// each weight panel across images instead of streaming the weights once per image.
    private func gemm(x: UnsafePointer<Float>, rows: Int, cin: Int, weight: ParamID, bias: ParamID, cout: Int,
                      activation: Activation, residual: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>) {
        let p = parameters
        let blocks = Partition.gemmBlocks(rows: rows, columns: cout, threads: pool.threads)
        pool.run(items: blocks.count) { block, _ in
            let (r, c) = blocks.ranges(block)
            let offset = r.lowerBound * cout + c.lowerBound
            ConvolutionKernels.pointwise(
                x: x + r.lowerBound * cin, rows: r.count, cin: cin,
                weight: p[weight], firstColumn: c.lowerBound, bias: p[bias] + c.lowerBound,
                cout: c.count, activation: activation, residual: residual.map { $0 + offset },
                out: out + offset, ldOut: cout)
        }
    }

    /// A feed-forward node: each block of rows goes through both GEMMs while its hidden rows sit
    /// in the thread's scratch (`Partition.gemmScratchRows` × hidden floats), so the hidden map
    /// never travels to memory and back. Rows too few to cut for several threads are cut by
    /// columns instead, as ``gemm`` does, in two passes: the expand GEMM fills the whole hidden
    /// map (those few rows fit one thread's scratch), then the reduce GEMM reads it. Either way
    /// each output is the two layers' arithmetic, bit for bit.
    private func feedForward(_ node: Node, _ f: FeedForwardLayer, scratch: UnsafeMutablePointer<Float>) {
        let b = buffers(of: node), p = parameters
        let rows = b.batch * graph.values[node.input.index].rowsPerImage, cin = b.inShape.last!, cout = b.outShape.last!
        let blocks = Partition.gemmBlocks(rows: rows, columns: f.hidden, threads: pool.threads)
        let scratchRows = node.scratchCount / f.hidden
        if blocks.columnParts > 1 {
            precondition(rows <= scratchRows, "\(node.label): \(rows) hidden rows exceed the scratch")
            gemm(x: b.x, rows: rows, cin: cin, weight: f.expandWeight, bias: f.expandBias, cout: f.hidden,
                 activation: f.activation, residual: nil, out: scratch)
            gemm(x: scratch, rows: rows, cin: f.hidden, weight: f.reduceWeight, bias: f.reduceBias, cout: cout,
                 activation: .identity, residual: b.residual, out: b.out)
            return
        }
        pool.run(items: blocks.rowParts) { block, thread in
            let (r, _) = blocks.ranges(block)
            precondition(r.count <= scratchRows, "\(node.label): a block of \(r.count) rows exceeds the scratch")
            let hidden = scratch + thread * node.scratchCount
            ConvolutionKernels.pointwise(
                x: b.x + r.lowerBound * cin, rows: r.count, cin: cin, weight: p[f.expandWeight],
                bias: p[f.expandBias], cout: f.hidden, activation: f.activation, residual: nil, out: hidden)
            ConvolutionKernels.pointwise(
                x: hidden, rows: r.count, cin: f.hidden, weight: p[f.reduceWeight], bias: p[f.reduceBias],
                cout: cout, activation: .identity, residual: b.residual.map { $0 + r.lowerBound * cout },
                out: b.out + r.lowerBound * cout)
        }
    }

    /// Runs one node as independent work items spread over the pool. Each output element is
    /// computed by the same arithmetic however the layer is cut (by per-image shape alone, or, for
    /// the 1×1 GEMMs, by rows that never split a sum), never depending on the thread count, so an
    /// image's result is bit-identical however it is batched and however many threads run.
    private func execute(_ node: Node, scratch: UnsafeMutablePointer<Float>) {
        let inShape = graph.values[node.input.index].shape
        let outShape = graph.values[node.output.index].shape
        let x = UnsafePointer(pointer(node.input))
        let out = pointer(node.output)
        let residual = node.residual.map { UnsafePointer(pointer($0)) }
        let batch = inShape[0]
        let inImage = inShape.dropFirst().reduce(1, *)
        let outImage = outShape.dropFirst().reduce(1, *)
        let p = parameters
        let scratchStride = node.scratchCount

        switch node.operation {
        case .convolution:
            let parts = Partition.convolutionRowBlocks(outputRows: outShape[1])
            pool.run(items: batch * parts.count) { item, thread in
                let (n, part) = item.quotientAndRemainder(dividingBy: parts.count)
                convolve(node, x: x + n * inImage, out: out + n * outImage, outputRows: parts.range(part),
                         scratch: scratch + thread * scratchStride)
            }
        case let .pointwise(weight, bias, activation):
            packedGEMM(node, weight: weight, bias: bias, activation: activation)
        case let .feedForward(layer):
            feedForward(node, layer, scratch: scratch)
        case let .depthwise(weight, bias, kernel, stride, activation, affine):
            let parts = Partition.depthwiseRowBlocks(outputRows: outShape[1])
            pool.run(items: batch * parts.count) { item, _ in
                let (n, part) = item.quotientAndRemainder(dividingBy: parts.count)
                ConvolutionKernels.depthwise(
                    x: x + n * inImage, channels: inShape[3], height: inShape[1], width: inShape[2],
                    weight: p[weight], bias: p[bias], kernel: kernel, stride: stride,
                    activation: activation, then: affine.map { (p[$0.scale], p[$0.shift]) },
                    residual: residual.map { $0 + n * outImage }, out: out + n * outImage,
                    outputRows: parts.range(part))
            }
        case let .squeezeExcite(reduceWeight, reduceBias, expandWeight, expandBias, reduced):
            ReductionKernels.squeezeExcite(
                batch: batch, x: x, channels: inShape[3], pixels: inShape[1] * inShape[2],
                reduceWeight: p[reduceWeight], reduceBias: p[reduceBias], reduced: reduced,
                expandWeight: p[expandWeight], expandBias: p[expandBias], pool: pool, scratch: scratch, out: out)
        case let .cascadedAttention(layer):
            let tiles = CascadedAttentionKernel.tileCount(layer, height: inShape[1], width: inShape[2])
            pool.run(items: batch * tiles) { item, thread in
                let (n, tile) = item.quotientAndRemainder(dividingBy: tiles)
                CascadedAttentionKernel.run(
                    layer, parameters: p, x: x + n * inImage, height: inShape[1], width: inShape[2],
                    tile: tile, scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case let .maxPool(kernel, stride, padding):
            let parts = Partition.depthwiseRowBlocks(outputRows: outShape[1])
            pool.run(items: batch * parts.count) { item, _ in
                let (n, part) = item.quotientAndRemainder(dividingBy: parts.count)
                let rows = parts.range(part)
                vit_max_pool_hwc(x + n * inImage, Int32(inShape[1]), Int32(inShape[2]), Int32(inShape[3]),
                                 Int32(kernel), Int32(stride), Int32(padding), out + n * outImage,
                                 Int32(rows.lowerBound), Int32(rows.upperBound))
            }
        case .globalAveragePool:
            pool.run(items: batch) { n, _ in
                ReductionKernels.averagePool(x: x + n * inImage, channels: inShape[3],
                                             pixels: inShape[1] * inShape[2], out: out + n * outImage)
            }
        case let .linear(weight, bias):
            packedGEMM(node, weight: weight, bias: bias, activation: .identity)
        case let .embedTokens(embedding):
            pool.run(items: batch) { n, _ in
                SequenceKernels.embed(patches: x + n * inImage, embedding, channels: outShape.last!,
                                      out: out + n * outImage)
            }
        case let .layerNorm(weight, bias, epsilon):
            let rows = graph.values[node.input.index].rowsPerImage, channels = inShape.last!
            let parts = Partition.rowBlocks(rows: rows, rowsPerBlock: 64)
            pool.run(items: batch * parts.count) { item, _ in
                let (n, part) = item.quotientAndRemainder(dividingBy: parts.count)
                let r = parts.range(part)
                let offset = n * inImage + r.lowerBound * channels
                SequenceKernels.layerNorm(x: x + offset, rows: r.count, channels: channels, weight: p[weight],
                                          bias: p[bias], epsilon: epsilon, out: out + offset)
            }
        case let .selfAttention(heads, headDim, scale):
            let tokens = inShape[1]
            pool.run(items: batch * heads) { item, thread in
                let (n, h) = item.quotientAndRemainder(dividingBy: heads)
                SelfAttentionKernel.run(qkv: x + n * inImage, tokens: tokens, heads: heads, headDim: headDim,
                                        scale: scale, head: h, scratch: scratch + thread * scratchStride,
                                        out: out + n * outImage)
            }
        case let .tokenPool(mode):
            pool.run(items: batch) { n, _ in
                SequenceKernels.pool(x: x + n * inImage, tokens: inImage / inShape.last!, channels: inShape.last!, mode,
                                     out: out + n * outImage)
            }
        case let .talkingHeadsAttention(a):
            let tokens = inShape[1]
            let blocks = Partition.rowBlocks(rows: tokens, rowsPerBlock: TalkingHeadsAttentionKernel.rowsPerBlock)
            pool.run(items: batch * blocks.count) { item, thread in
                let (n, block) = item.quotientAndRemainder(dividingBy: blocks.count)
                TalkingHeadsAttentionKernel.run(a, parameters: p, qkv: x + n * inImage, tokens: tokens,
                                                rows: blocks.range(block), scratch: scratch + thread * scratchStride,
                                                out: out + n * outImage)
            }
        case let .classAttention(a):
            let tokens = inShape[1]
            pool.run(items: batch) { n, thread in
                ClassAttentionKernel.run(a, parameters: p, patches: x + n * inImage, tokens: tokens,
                                         cls: residual.map { $0 + n * outImage } ?? UnsafePointer(p[a.classToken!]),
                                         scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case let .crossCovarianceAttention(a):
            let tokens = graph.values[node.input.index].rowsPerImage
            pool.run(items: batch * a.heads) { item, thread in
                let (n, h) = item.quotientAndRemainder(dividingBy: a.heads)
                CrossCovarianceAttentionKernel.run(a, parameters: p, qkv: x + n * inImage, tokens: tokens, head: h,
                                                   scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case let .xcitClassBlock(b):
            pool.run(items: batch) { n, thread in
                XCiTClassBlockKernel.run(b, parameters: p, x: x + n * inImage, tokens: inShape[1] - 1,
                                         scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case .transpose:
            let rows = graph.values[node.input.index].rowsPerImage, columns = inShape.last!
            pool.run(items: batch) { n, _ in
                vit_transpose_add(x + n * inImage, Int32(rows), Int32(columns), residual.map { $0 + n * outImage },
                                  out + n * outImage)
            }
        case let .sequenceMixer(mixer):
            run(mixer, node: node, scratch: scratch)
        case let .switchExperts(e):
            pool.run(items: batch) { n, thread in
                SwitchKernel.run(e, parameters: p, x: x + n * inImage, tokens: inShape[1], channels: inShape[2],
                                 residual: residual.map { $0 + n * outImage },
                                 scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case .windowAttention, .patchMerging:
            runWindowed(node, scratch: scratch)
        case .featureMapAttention, .upsample2x:
            runFeatureMapLayer(node, scratch: scratch)
        case let .family(operation):
            let items = operation.itemsPerImage(input: inShape, output: outShape)
            let auxiliary = node.auxiliary.first.map { (pointer: UnsafePointer(pointer($0)),
                                                        image: graph.values[$0.index].shape.dropFirst().reduce(1, *)) }
            pool.run(items: batch * items) { item, thread in
                let (n, i) = item.quotientAndRemainder(dividingBy: items)
                operation.run(item: i, FamilyOperationImage(
                    x: x + n * inImage, residual: residual.map { $0 + n * outImage },
                    auxiliary: auxiliary.map { $0.pointer + n * $0.image }, out: out + n * outImage,
                    scratch: scratch + thread * scratchStride, inputShape: inShape, outputShape: outShape))
            }
        }
    }
}

/// How layers are cut into work items: fixed by per-image shapes alone (see `execute`).
enum Partition {
    struct Blocks {
        var count: Int
        var length: Int
        var parts: Int
        /// Blocks start on multiples of this (a dense convolution's row pairs).
        var unit = 1
        func range(_ i: Int) -> Range<Int> {
            let units = (length + unit - 1) / unit
            return min(length, unit * (units * i / parts))..<min(length, unit * (units * (i + 1) / parts))
        }
    }

    /// Whether a batch's images, as work items, keep every thread busy: they divide evenly over
    /// the threads, or are enough (4 per thread) that the last round's idle thread hardly counts.
    /// Layers that run image by image (a streamed stem, a fused expansion) cut images otherwise.
    static func imagesSpreadEvenly(batch: Int, threads: Int) -> Bool { batch % threads == 0 || batch >= 4 * threads }

    /// Output rows of a dense convolution in blocks of up to `denseRowsPerItem` (bounds the band
    /// scratch), each starting on an even row so that no block splits a pair of rows that share a
    /// product (`vit_conv2d_packed_rows`).
    static func convolutionRowBlocks(outputRows: Int) -> Blocks {
        let pairs = (outputRows + 1) / 2, pairsPerBlock = ConvolutionKernels.denseRowsPerItem / 2
        let parts = (pairs + pairsPerBlock - 1) / pairsPerBlock
        return Blocks(count: parts, length: outputRows, parts: parts, unit: 2)
    }

    /// Rows in blocks of about `rowsPerBlock`.
    static func rowBlocks(rows: Int, rowsPerBlock: Int) -> Blocks {
        let parts = max(1, (rows + rowsPerBlock - 1) / rowsPerBlock)
        return Blocks(count: parts, length: rows, parts: parts)
    }

    /// Output rows of a depthwise convolution in up to 4 blocks.
    static func depthwiseRowBlocks(outputRows: Int) -> Blocks {
        let parts = min(outputRows, 4)
        return Blocks(count: parts, length: outputRows, parts: parts)
    }

    /// A 1×1 convolution's `rows × columns` output (rows of the whole batch) in blocks of about 96
    /// rows; a GEMM too short to cut by rows is cut into two column parts instead (on threads).
    struct GEMMBlocks {
        var rowParts: Int
        var columnParts: Int
        var rows: Int
        var columns: Int
        var count: Int { rowParts * columnParts }
        func ranges(_ i: Int) -> (Range<Int>, Range<Int>) {
            let (r, c) = i.quotientAndRemainder(dividingBy: columnParts)
            return (rowBoundary(r)..<rowBoundary(r + 1), columnBoundary(c)..<columnBoundary(c + 1))
        }

        /// Where column part `c` starts: on a panel of the packed weight.
        private func columnBoundary(_ c: Int) -> Int {
            let width = KernelGeometry.panelColumns
            let panels = (columns + width - 1) / width
            return min(columns, width * (panels * c / columnParts))
        }

        /// Where row block `r` starts: an even split rounded to whole row tiles of the running
        /// tier's GEMM (when every block still gets at least two tiles), so only the last block
        /// ends in a short tile — 85-row blocks ran 7 full 12-row tiles and a 1-row tile each.
        private func rowBoundary(_ r: Int) -> Int {
            let even = rows * r / rowParts, tile = KernelGeometry.gemmRowTile
            guard r > 0, r < rowParts, rows >= 2 * tile * rowParts else { return even }
            return (even + tile / 2) / tile * tile
        }
    }

    /// Rows a GEMM block aims at: A's block stays in L2 while every weight panel streams past it.
    static let gemmRowsPerBlock = 96

    /// The most rows a block of ``gemmBlocks(rows:columns:threads:)`` holds, whatever the thread
    /// count and kernel tier: an even split of at most `gemmRowsPerBlock` rows whose two ends
    /// each move by at most half a row tile to a tile boundary (tiles of at most
    /// ``KernelGeometry/maximumGEMMRowTile`` rows, so a plan made on one tier serves every tier).
    static func gemmScratchRows(rows: Int) -> Int { min(rows, gemmRowsPerBlock + KernelGeometry.maximumGEMMRowTile) }

    static func gemmBlocks(rows: Int, columns: Int, threads: Int) -> GEMMBlocks {
        var rowParts = max(1, (rows + gemmRowsPerBlock - 1) / gemmRowsPerBlock)
        // As many blocks for each thread: 3 blocks on 2 threads leave one idle a third of the
        // time (M0's last stage at batch 16). Rows never split a sum, so results do not change.
        if rowParts >= threads { rowParts = (rowParts + threads - 1) / threads * threads }
        // Too few rows to cut: two column parts, each a whole number of weight panels
        // (288 columns: 160 + 128), so a stage's 49- or 16-row GEMMs and the classifier head
        // use both threads whatever their width.
        let columnParts = rowParts == 1 && threads > 1 && columns >= 128 ? 2 : 1
        return GEMMBlocks(rowParts: rowParts, columnParts: columnParts, rows: rows, columns: columns)
    }
}
