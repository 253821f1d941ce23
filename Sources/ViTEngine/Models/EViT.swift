import Foundation

/// EViT (Liang et al., ICLR 2022, "Not All Patches are What You Need: Expediting Vision
/// Transformers via Token Reorganizations"), as the official code and the "Which Transformer to
/// Favor" benchmark define it (`architectures/evit.py`, taxonomy class "token reduction
/// (removal)"): the weights are a plain ViT's (DeiT's layout); in its shrinking blocks
/// (`drop_loc`, 3, 6 and 9 by default) the tokens the class token attends to least (its
/// attention averaged over heads) are dropped after the attention, keeping
/// `⌈keep_rate · (T − 1)⌉` of the T − 1 others, and with token fusion the dropped ones are summed,
/// weighted by that attention, into one token appended to the sequence. The MLP and every later
/// block run on the shorter sequence.

extension GraphBuilder {
    /// One block of EViT (the reference's `Block` with its `Attention`): a plain transformer
    /// block unless it keeps fewer tokens than it gets.
    mutating func tokenRemovalBlock(_ b: TransformerBlock, keepRate: Double, fuses: Bool, _ x: ValueID,
                                    label: String) -> ValueID {
        let s = shape(x)
        let (n, t, dim) = (s[0], s[1], s[2])
        // The reference computes `math.ceil(keep_rate * (N - 1))` in double precision; so does this.
        let kept = keepRate < 1 ? Int((keepRate * Double(t - 1)).rounded(.up)) : t - 1
        guard kept < t - 1 else { return transformerBlock(b, x, label: label) }
        let headDim = dim / b.heads
        let scale = Float(1 / Double(headDim).squareRoot())
        let (qkv, attended) = selfAttentionKeepingQKV(qkv: b.qkv, proj: b.proj, heads: b.heads,
                                                      layerNorm(b.norm1, x, label: label + ".norm1"), residual: x,
                                                      label: label + ".attn")
        let scores = add(.sequenceMixer(.classAttentionScores(heads: b.heads, headDim: headDim, scale: scale)),
                         input: qkv, outputShape: [n, t - 1, 1],
                         scratch: TokenRemovalKernel.classAttentionScratchCount(tokens: t),
                         label: label + ".evit.cls_attn")
        let reduced = add(.sequenceMixer(.attentiveTokens(kept: kept, fusesRest: fuses)), input: attended,
                          auxiliary: [scores], outputShape: [n, 1 + kept + (fuses ? 1 : 0), dim], scratch: t - 1,
                          label: label + ".evit.keep")
        return feedForward(b.mlp, norm: b.norm2, reduced, label: label)
    }
}
