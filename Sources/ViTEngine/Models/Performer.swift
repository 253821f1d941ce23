/// The Performer (Choromanski et al., ICLR 2021, "Rethinking Attention with Performers") as the
/// "Which Transformer to Favor" benchmark builds it into timm's ViT (`architectures/performer.py`,
/// after lucidrains/performer-pytorch; taxonomy class "kernel"): every block's attention
/// (`PerformerAttention`: `to_q`, `to_k`, `to_v`, `to_out`) replaces `softmax(q·kᵀ/√d)` by FAVOR+,
/// positive random features `φ(x) = m^-½·(exp(x̂·Pᵀ − |x̂|²/2 − max) + 10⁻⁴)` of `x̂ = d^-¼·x`
/// through the `[m, d]` projection `P` (m = 128), then `φ(q)·(φ(k)ᵀ·v)` normalized per query
/// (``PerformerAttention``).
///
/// The projection is random only when drawn: the benchmark builds it at initialisation
/// (`gaussian_orthogonal_random_matrix`) and keeps it as the buffer
/// `attn.fast_attention.projection_matrix`; with `feature_redraw_interval=None` it is never
/// redrawn, and in eval mode never either. The checkpoint's buffer is the projection, so the
/// engine's output is a function of the file alone, exactly as the reference's in eval mode.
/// Queries subtract their own row's maximum, keys the maximum over all of an image's keys in the
/// head (`amax(dim=(-1, -2))`).

/// One Performer block: timm's `Block` with the Performer's attention.
struct PerformerBlock: Sendable {
    /// The block with `to_q`, `to_k`, `to_v` stacked as its qkv layer and `to_out` as its projection.
    var block: TransformerBlock
    /// `[m, d]`: the random features of every head.
    var projection: [Float]

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, heads: Int, features: Int,
                           qkvBias: Bool) -> [TensorSpec] {
        let a = prefix + ".attn"
        var spec = TensorSpec.layerNorm(prefix + ".norm1", dim)
        spec.append(TensorSpec(name: a + ".fast_attention.projection_matrix", shape: [features, dim / heads]))
        for name in ["to_q", "to_k", "to_v"] { spec += TensorSpec.linear(a + "." + name, in: dim, out: dim, bias: qkvBias) }
        spec += TensorSpec.linear(a + ".to_out", in: dim, out: dim)
        spec += TensorSpec.layerNorm(prefix + ".norm2", dim)
        spec += MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden)
        return spec
    }
}

extension ParameterLoader {
    mutating func performerBlock(_ prefix: String, config c: VisionTransformerConfig) -> PerformerBlock {
        let a = prefix + ".attn"
        return PerformerBlock(
            block: TransformerBlock(
                norm1: layerNorm(prefix + ".norm1", epsilon: c.layerNormEpsilon),
                qkv: stackedLinear(["to_q", "to_k", "to_v"].map { a + "." + $0 }, bias: c.qkvBias, name: a + ".to_qkv"),
                heads: c.numHeads, proj: linear(a + ".to_out"),
                norm2: layerNorm(prefix + ".norm2", epsilon: c.layerNormEpsilon), mlp: mlp(prefix + ".mlp")),
            projection: self[a + ".fast_attention.projection_matrix"])
    }
}

extension GraphBuilder {
    /// qkv, FAVOR+ attention, projection + residual, then timm's MLP.
    mutating func performerBlock(_ p: PerformerBlock, _ x: ValueID, label: String) -> ValueID {
        let b = p.block, s = shape(x)
        let headDim = b.qkv.outFeatures / 3 / b.heads
        let attention = PerformerAttention(heads: b.heads, headDim: headDim, projection: p.projection, tokens: s[1])
        let qkv = linear(b.qkv, layerNorm(b.norm1, x, label: label + ".norm1"), label: label + ".attn.to_qkv")
        let mixed = add(.family(attention), input: qkv, outputShape: s, scratch: attention.scratchPerItem,
                        label: label + ".attn")
        let attended = linear(b.proj, mixed, residual: x, label: label + ".attn.to_out")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
