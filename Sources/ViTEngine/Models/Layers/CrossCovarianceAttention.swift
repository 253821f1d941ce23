/// XCiT's layers (El-Nouby et al., NeurIPS 2021; timm `xcit.py`): cross-covariance attention,
/// which attends across channels instead of tokens (the "transposed" class of the efficiency
/// study's taxonomy), the local patch interaction that follows it, and XCiT's class-attention
/// block, which also updates the patch tokens.

/// XCA on a `[N, …, 3·C]` qkv projection → `[N, …, C]`: per head, q and k are L2-normalized over
/// the tokens, `softmax(q̂ᵀk̂ · temperature)` is a `headDim × headDim` matrix, and each token's
/// head output is that matrix times its value.
struct CrossCovarianceAttentionLayer: Sendable {
    var heads: Int
    var headDim: Int
    /// `[heads]`: the learned temperature of each head.
    var temperature: ParamID
}

/// XCiT's `ClassAttentionBlock` for `[N, 1 + T, C]` (class token first), fused:
/// `x += γ₁ · [classAttention(norm1(x)); norm1(x)_patches]`, then norm2 (all tokens with
/// `tokensNorm`, else the class token only), then the class token gets `γ₂ · mlp(cls)` added.
struct XCiTClassBlockLayer: Sendable {
    /// norm1, q, k, v and the projection with γ₁ folded in.
    var attention: ClassAttentionLayer
    /// γ₁ as read: it also scales the normalized patch tokens added to themselves.
    var layerScale1: ParamID
    var norm2: LayerNormLayer
    /// fc2 has γ₂ folded in.
    var mlp: MLPLayer
    var tokensNorm: Bool
}

extension GraphBuilder {
    /// XCA on a `[N, …, C]` token value: qkv, attention, projection (+ residual).
    mutating func crossCovarianceAttention(qkv: LinearLayer, _ a: CrossCovarianceAttentionLayer, proj: LinearLayer,
                                           _ x: ValueID, residual: ValueID?, label: String) -> ValueID {
        let q = linear(qkv, x, label: label + ".qkv")
        let attended = add(.crossCovarianceAttention(a), input: q, outputShape: shape(x),
                           scratch: CrossCovarianceAttentionKernel.scratchCount(a, tokens: graph.values[x.index].rowsPerImage),
                           label: label)
        return linear(proj, attended, residual: residual, label: label + ".proj")
    }
}
