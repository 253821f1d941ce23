import Foundation

/// EfficientViT's cascaded group attention over local windows, for one image.
///
/// Follows timm's `LocalWindowAttention` + `CascadedGroupAttention`: the image is cut into
/// `window × window` tiles (zero padded at the bottom and right), and in each tile head `h`
/// attends over `feat_h = out_{h-1} + x_h` (its channel group plus the previous head's output).
/// Padded positions take part as keys and values exactly as in the reference; the merge crops
/// them away. The output is `relu(concat(out_h))`, the input of the projection.
enum CascadedAttentionKernel {
    /// Floats of scratch one call needs.
    static func scratchCount(_ layer: CascadedAttentionLayer) -> Int {
        let t = layer.window * layer.window
        let channels = layer.heads * layer.channelsPerHead
        let qkvRows = 2 * layer.keyDim + layer.valueDim
        return t * (channels + layer.heads * layer.valueDim + qkvRows + layer.keyDim
                    + layer.channelsPerHead + t)
    }

    static func run(_ layer: CascadedAttentionLayer, parameters: ParameterStore,
                    x: UnsafePointer<Float>, height: Int, width: Int,
                    scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let ws = layer.window
        let t = ws * ws
        let heads = layer.heads
        let cph = layer.channelsPerHead
        let kd = layer.keyDim
        let vd = layer.valueDim
        let channels = heads * cph
        let qkvRows = 2 * kd + vd

        let window = scratch                      // [channels, t]
        let headOut = window + channels * t       // [heads · vd, t]
        let qkv = headOut + heads * vd * t        // [qkvRows, t]
        let query = qkv + qkvRows * t             // [kd, t]
        let feat = query + kd * t                 // [cph, t]
        let attn = feat + cph * t                 // [t, t]

        let tilesY = (height + ws - 1) / ws
        let tilesX = (width + ws - 1) / ws
        for tileY in 0..<tilesY {
            for tileX in 0..<tilesX {
                let y0 = tileY * ws, x0 = tileX * ws
                gatherWindow(x: x, channels: channels, height: height, width: width,
                             y0: y0, x0: x0, ws: ws, into: window)
                for h in 0..<heads {
                    let input: UnsafePointer<Float>
                    if h == 0 {
                        input = UnsafePointer(window)
                    } else {
                        let previous = headOut + (h - 1) * vd * t
                        let group = window + h * cph * t
                        for i in 0..<(cph * t) { feat[i] = previous[i] + group[i] }
                        input = UnsafePointer(feat)
                    }
                    ConvolutionKernels.pointwise(
                        x: input, cin: cph, pixels: t,
                        weight: parameters[layer.qkvWeights[h]], bias: parameters[layer.qkvBiases[h]],
                        cout: qkvRows, activation: .identity, residual: nil, out: qkv)
                    ConvolutionKernels.depthwise(
                        x: qkv, channels: kd, height: ws, width: ws,
                        weight: parameters[layer.queryWeights[h]], bias: parameters[layer.queryBiases[h]],
                        kernel: layer.queryKernels[h], stride: 1, activation: .identity,
                        residual: nil, out: query)
                    for i in 0..<(kd * t) { query[i] *= layer.scale }
                    let key = qkv + kd * t
                    let value = qkv + 2 * kd * t
                    // attn[i, j] = sum_c q[c, i] · k[c, j]
                    BLAS.gemm(transposeA: true, m: t, n: t, k: kd, a: query, lda: t, b: key, ldb: t,
                              beta: 0, c: attn, ldc: t)
                    softmaxRows(attn, bias: parameters[layer.positionBias[h]], rows: t, columns: t)
                    // out[c, i] = sum_j v[c, j] · attn[i, j]
                    BLAS.gemm(transposeB: true, m: vd, n: t, k: t, a: value, lda: t, b: attn, ldb: t,
                              beta: 0, c: headOut + h * vd * t, ldc: t)
                }
                scatterWindow(headOut, channels: heads * vd, height: height, width: width,
                              y0: y0, x0: x0, ws: ws, into: out)
            }
        }
    }

    /// Copies the `ws × ws` tile at (y0, x0) of a `[channels, height, width]` image, zero filling
    /// what lies past the bottom or right edge.
    private static func gatherWindow(x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                     y0: Int, x0: Int, ws: Int, into window: UnsafeMutablePointer<Float>) {
        let rows = min(ws, height - y0), cols = min(ws, width - x0)
        for c in 0..<channels {
            let dst = window + c * ws * ws
            if rows < ws || cols < ws { dst.update(repeating: 0, count: ws * ws) }
            let src = x + c * height * width + y0 * width + x0
            for r in 0..<rows {
                (dst + r * ws).update(from: src + r * width, count: cols)
            }
        }
    }

    /// Writes `relu(tile)` back to the image, cropping padded positions.
    private static func scatterWindow(_ tile: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                      y0: Int, x0: Int, ws: Int, into out: UnsafeMutablePointer<Float>) {
        let rows = min(ws, height - y0), cols = min(ws, width - x0)
        for c in 0..<channels {
            let src = tile + c * ws * ws
            let dst = out + c * height * width + y0 * width + x0
            for r in 0..<rows {
                for j in 0..<cols { dst[r * width + j] = max(src[r * ws + j], 0) }
            }
        }
    }

    /// Row-wise `softmax(m + bias)`, in place, subtracting the row maximum as PyTorch does.
    static func softmaxRows(_ m: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                            rows: Int, columns: Int) {
        for r in 0..<rows {
            let row = m + r * columns
            let b = bias + r * columns
            var top = -Float.infinity
            for j in 0..<columns {
                row[j] += b[j]
                top = max(top, row[j])
            }
            var sum: Float = 0
            for j in 0..<columns {
                let e = expf(row[j] - top)
                row[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0..<columns { row[j] *= inv }
        }
    }
}
