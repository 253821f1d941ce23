/// The Linear Transformer (Katharopoulos et al., ICML 2020, "Transformers are RNNs: Fast
/// Autoregressive Transformers with Linear Attention") as the "Which Transformer to Favor"
/// benchmark builds it into timm's ViT (`architectures/linear_transformer.py`, taxonomy class
/// "kernel"): every block keeps timm's `Block` and its tensors (`attn.qkv`, `attn.proj`), and its
/// attention replaces `softmax(q·kᵀ)` by the kernel `φ(q)·φ(k)ᵀ` with `φ(x) = elu(x) + 1`,
/// normalized per query, so the cost is linear in the tokens (``LinearAttentionKernel``).

extension GraphBuilder {
    /// The benchmark's `LinearAttention` epsilon in the normalizer `1 / (φ(q)·Σφ(k) + ε)`.
    static let linearAttentionEpsilon: Float = 1e-6

    /// A pre-norm block whose attention is the Linear Transformer's (the benchmark's
    /// `LinearAttentionBlock`): qkv, linear attention, projection + residual, then timm's MLP.
    mutating func linearAttentionBlock(_ b: TransformerBlock, _ x: ValueID, label: String) -> ValueID {
        let s = shape(x)
        let dim = b.qkv.outFeatures / 3, headDim = dim / b.heads
        let qkv = linear(b.qkv, layerNorm(b.norm1, x, label: label + ".norm1"), label: label + ".attn.qkv")
        let mixed = add(.sequenceMixer(.linearAttention(heads: b.heads, headDim: headDim,
                                                        epsilon: Self.linearAttentionEpsilon)),
                        input: qkv, outputShape: s,
                        scratch: LinearAttentionKernel.scratchCount(tokens: s[1], headDim: headDim),
                        label: label + ".attn")
        let attended = linear(b.proj, mixed, residual: x, label: label + ".attn.proj")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
