import CKernels

/// EfficientViT's cascaded group attention over local windows, for one channels-last image.
///
/// Follows timm's `LocalWindowAttention` + `CascadedGroupAttention`: the image is cut into
/// `window × window` tiles (zero padded at the bottom and right), and in each tile head `h`
/// attends over `feat_h = out_{h-1} + x_h` (its channel group plus the previous head's output).
/// Padded positions take part as keys and values exactly as in the reference; the merge crops
/// them away. The output is `relu(concat(out_h))`, the input of the projection.
///
/// With tokens as rows, `qkv = feat · Wᵀ` is a plain row-major GEMM, the query's depthwise conv
/// runs over the tile as a tiny HWC image whose `keyDim` channels fill one vector register, and
/// each head's `softmax(q · kᵀ + bias) · v` is one fused pass (`vit_attention_head`): at 16-dim
/// keys and ≤ 49 tokens a BLAS call costs more in overhead than in arithmetic.
enum CascadedAttentionKernel {
    /// Floats of scratch one call needs.
    static func scratchCount(_ layer: CascadedAttentionLayer) -> Int {
        let t = layer.window * layer.window
        let channels = layer.heads * layer.channelsPerHead
        let qkvColumns = 2 * layer.keyDim + layer.valueDim
        return t * (channels + layer.heads * layer.valueDim + qkvColumns + layer.keyDim
                    + layer.channelsPerHead) + vit_attention_head_scratch_count(Int32(t), Int32(layer.keyDim))
    }

    /// Windows of one image: the image padded up to whole windows.
    static func tileCount(_ layer: CascadedAttentionLayer, height: Int, width: Int) -> Int {
        ((height + layer.window - 1) / layer.window) * ((width + layer.window - 1) / layer.window)
    }

    /// Attention in window `tile` (row-major over the windows) of one image; windows are
    /// independent, so they are the work items the executor spreads over threads.
    static func run(_ layer: CascadedAttentionLayer, parameters: ParameterStore,
                    x: UnsafePointer<Float>, height: Int, width: Int, tile: Int,
                    scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let ws = layer.window
        let t = ws * ws
        let heads = layer.heads
        let cph = layer.channelsPerHead
        let kd = layer.keyDim
        let vd = layer.valueDim
        let channels = heads * cph
        let qkvColumns = 2 * kd + vd
        let outColumns = heads * vd

        let window = scratch                      // [t, channels]
        let headOut = window + t * channels       // [t, heads · vd]
        let qkv = headOut + t * outColumns        // [t, 2·kd + vd]: q | k | v
        let query = qkv + t * qkvColumns          // [t, kd]
        let feat = query + t * kd                 // [t, cph]
        let attentionScratch = feat + t * cph     // vit_attention_head's

        let (tileY, tileX) = tile.quotientAndRemainder(dividingBy: (width + ws - 1) / ws)
        let y0 = tileY * ws, x0 = tileX * ws
        gatherWindow(x: x, channels: channels, height: height, width: width,
                     y0: y0, x0: x0, ws: ws, into: window)
        for h in 0..<heads {
            var input = UnsafePointer(window)
            var inputStride = channels
            if h > 0 {
                for i in 0..<t {
                    let previous = headOut + i * outColumns + (h - 1) * vd
                    let group = window + i * channels + h * cph
                    let dst = feat + i * cph
                    for c in 0..<cph { dst[c] = previous[c] + group[c] }
                }
                input = UnsafePointer(feat)
                inputStride = cph
            }
            ConvolutionKernels.pointwise(
                x: input, rows: t, cin: cph, ldx: inputStride,
                weight: parameters[layer.qkvWeights[h]], bias: parameters[layer.qkvBiases[h]],
                cout: qkvColumns, activation: .identity, residual: nil, out: qkv)
            // The query (the first kd columns of qkv) as a ws×ws image of kd channels, through
            // its depthwise conv, then scaled before the product as the reference does.
            ConvolutionKernels.depthwise(
                x: qkv, ldx: qkvColumns, channels: kd, height: ws, width: ws,
                weight: parameters[layer.queryWeights[h]], bias: parameters[layer.queryBiases[h]],
                kernel: layer.queryKernels[h], stride: 1, activation: .identity,
                residual: nil, out: query)
            // out_h = softmax((q · scale) · kᵀ + position bias) · v, scores kept in registers
            vit_attention_head(query, kd, qkv + kd, qkvColumns, qkv + 2 * kd, qkvColumns,
                               parameters[layer.positionBias[h]], Int32(t), Int32(kd), Int32(vd),
                               layer.scale, headOut + h * vd, outColumns, attentionScratch)
        }
        scatterWindow(headOut, channels: outColumns, height: height, width: width,
                      y0: y0, x0: x0, ws: ws, into: out)
    }

    /// Copies the `ws × ws` tile at (y0, x0) of an HWC image, zero filling what lies past the
    /// bottom or right edge.
    private static func gatherWindow(x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                     y0: Int, x0: Int, ws: Int, into window: UnsafeMutablePointer<Float>) {
        let rows = min(ws, height - y0), cols = min(ws, width - x0)
        if rows < ws || cols < ws { window.update(repeating: 0, count: ws * ws * channels) }
        for r in 0..<rows {
            (window + r * ws * channels).update(from: x + ((y0 + r) * width + x0) * channels, count: cols * channels)
        }
    }

    /// Writes `relu(tile)` back to the image, cropping padded positions.
    private static func scatterWindow(_ tile: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                      y0: Int, x0: Int, ws: Int, into out: UnsafeMutablePointer<Float>) {
        let rows = min(ws, height - y0), cols = min(ws, width - x0)
        for r in 0..<rows {
            let src = tile + r * ws * channels
            let dst = out + ((y0 + r) * width + x0) * channels
            for j in 0..<(cols * channels) { dst[j] = max(src[j], 0) }
        }
    }
}
