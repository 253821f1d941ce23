/// The Nyströmformer (Xiong et al., AAAI 2021, "Nyströmformer: A Nyström-Based Algorithm for
/// Approximating Self-Attention") as the "Which Transformer to Favor" benchmark builds it into
/// timm's ViT (`architectures/nystrom.py`, taxonomy class "low-rank"): every block keeps timm's
/// `Block` and its tensors (`attn.qkv`, `attn.proj`); its attention approximates
/// `softmax(q·kᵀ/√d)·v` through `L` landmarks — the means of `L` consecutive segments of the
/// (scaled) queries and of the keys — as
/// `softmax(q·k̃ᵀ) · pinv(softmax(q̃·k̃ᵀ)) · (softmax(q̃·kᵀ) · v)`, the pseudo-inverse by six
/// iterations of the benchmark's `iterative_inv` (``NystromAttention``). The attention adds the
/// values to its projection (`x = v + proj(·)`), and the block its residual.
///
/// `T` tokens fall into `L` segments as the benchmark cuts them: when `L` does not divide `T`,
/// the first `(⌊T/L⌋ + 1)·L − T` segments hold `⌊T/L⌋` tokens and the rest one more; a sequence
/// shorter than `L` tokens is refused, as the reference's assertion refuses it.

extension GraphBuilder {
    /// A pre-norm block whose attention is the Nyströmformer's (the benchmark's `NystromBlock`):
    /// qkv, Nyström attention, projection + residual + the values, then timm's MLP.
    mutating func nystromBlock(_ b: TransformerBlock, landmarks: Int, _ x: ValueID, label: String) -> ValueID {
        let s = shape(x)
        let dim = b.qkv.outFeatures / 3
        let attention = NystromAttention(heads: b.heads, headDim: dim / b.heads, landmarks: landmarks, tokens: s[1])
        let qkv = linear(b.qkv, layerNorm(b.norm1, x, label: label + ".norm1"), label: label + ".attn.qkv")
        let mixed = add(.family(attention), input: qkv, outputShape: s, scratch: attention.scratchPerItem,
                        label: label + ".attn")
        let projected = linear(b.proj, mixed, residual: x, label: label + ".attn.proj")
        let attended = add(.family(QKVValuesAdded()), input: qkv, residual: projected, outputShape: s,
                           label: label + ".attn.values")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
