/// Window attention with a learned relative-position bias (timm's `WindowAttention`, Swin's
/// W-MSA and SW-MSA) and Swin's patch merging, as reusable layers.
///
///     qkv = linear(x)                       per token
///     a   = windowAttention(qkv)            per (shifted) window and head, bias (+ mask) in the softmax
///     x   = x + proj(a)
///
/// The relative-position bias is expanded at load from its `[(2w−1)², heads]` table into one
/// `[heads, T, T]` matrix per layer (T = w²), the index timm keeps as `relative_position_index`
/// derived here: tokens `i = (yi, xi)` and `j = (yj, xj)` of a window read table row
/// `(yi − yj + w − 1)·(2w − 1) + (xi − xj + w − 1)`.
struct WindowAttentionParameters: Sendable {
    var qkv: LinearLayer
    /// The qkv projection's bias, unpacked: what zero-padded tokens project to.
    var qkvBias: ParamID
    var proj: LinearLayer
    var positionBias: ParamID
    var heads: Int
    var window: Int

    /// Tensors of a `WindowAttention` at `prefix` (`layers.0.blocks.1.attn`), in timm's order.
    static func tensorSpec(_ prefix: String, dim: Int, heads: Int, window: Int, qkvBias: Bool) -> [TensorSpec] {
        [TensorSpec(name: prefix + ".relative_position_bias_table", shape: [(2 * window - 1) * (2 * window - 1), heads])]
            + TensorSpec.linear(prefix + ".qkv", in: dim, out: 3 * dim, bias: qkvBias)
            + TensorSpec.linear(prefix + ".proj", in: dim, out: dim)
    }

    /// `[heads, T, T]` bias of every token pair of a window from the `[(2w−1)², heads]` table.
    static func expandBias(table: [Float], heads: Int, window w: Int) -> [Float] {
        let t = w * w
        var bias = [Float](repeating: 0, count: heads * t * t)
        for i in 0..<t {
            for j in 0..<t {
                let row = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1)
                for h in 0..<heads { bias[(h * t + i) * t + j] = table[row * heads + h] }
            }
        }
        return bias
    }
}

extension ParameterLoader {
    mutating func windowAttention(_ prefix: String, heads: Int, window: Int, qkvBias: Bool) -> WindowAttentionParameters {
        let qkv = linear(prefix + ".qkv", bias: qkvBias)
        let table = self[prefix + ".relative_position_bias_table"]
        let expanded = WindowAttentionParameters.expandBias(table: table, heads: heads, window: window)
        let padded = qkvBias ? self[prefix + ".qkv.bias"] : [Float](repeating: 0, count: qkv.outFeatures)
        return WindowAttentionParameters(
            qkv: qkv, qkvBias: add(padded, name: prefix + ".qkv.bias (padding tokens)"),
            proj: linear(prefix + ".proj"),
            positionBias: add(expanded, name: prefix + ".relative_position_bias"), heads: heads, window: window)
    }
}

extension GraphBuilder {
    /// `residual + proj(windowAttention(qkv(x)))` over `[N, H, W, C]`, windows shifted by
    /// `(shiftY, shiftX)`.
    mutating func windowAttention(_ a: WindowAttentionParameters, _ x: ValueID, shiftY: Int, shiftX: Int,
                                  residual: ValueID?, label: String) -> ValueID {
        let s = shape(x)
        let dim = a.qkv.outFeatures / 3, headDim = dim / a.heads
        let layer = WindowAttentionLayer(heads: a.heads, headDim: headDim, window: a.window, shiftY: shiftY,
                                         shiftX: shiftX, positionBias: a.positionBias, qkvBias: a.qkvBias,
                                         scale: Float(1 / Double(headDim).squareRoot()))
        let qkv = linear(a.qkv, x, label: label + ".qkv")
        let attended = add(.windowAttention(layer), input: qkv, outputShape: Array(s.dropLast()) + [dim],
                           scratch: WindowAttentionKernel.scratchCount(layer), label: label)
        return linear(a.proj, attended, residual: residual, label: label + ".proj")
    }

    /// Swin's `PatchMerging`: 2×2 blocks gathered and normalized, then the bias-free reduction.
    mutating func patchMerging(norm: LayerNormLayer, reduction: LinearLayer, _ x: ValueID, label: String) -> ValueID {
        let s = shape(x)
        let merged = add(.patchMerging(weight: norm.weight, bias: norm.bias, epsilon: norm.epsilon), input: x,
                         outputShape: [s[0], (s[1] + 1) / 2, (s[2] + 1) / 2, 4 * s[3]], label: label + ".norm")
        return linear(reduction, merged, label: label + ".reduction")
    }
}
