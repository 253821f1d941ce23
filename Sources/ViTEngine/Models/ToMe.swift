/// ToMe, token merging (Bolya et al., ICLR 2023, "Token Merging: Your ViT but Faster"), as the
/// "Which Transformer to Favor" benchmark applies it to timm's ViT (`architectures/tome.py`,
/// taxonomy class "token reduction (merging)"): the weights are a plain ViT's; between the
/// attention and the MLP of every block, `r` tokens are merged into their most similar ones
/// (bipartite soft matching on the attention keys), averaged by how many patches each token
/// already stands for, and from the first merge on attention is proportional to those sizes
/// (`log(size)` added to the scores). With a constant `r` every block merges `r` tokens, at most
/// half of those besides the class token.

extension GraphBuilder {
    /// One ToMe block (the benchmark's `ToMeBlock` with `ToMeAttention`). `sizes` is the
    /// `[N, T, 1]` token sizes value (nil before the first merge: every token counts 1), updated
    /// when this block merges.
    mutating func tokenMergingBlock(_ b: TransformerBlock, merging r: Int, sizes: inout ValueID?, _ x: ValueID,
                                    label: String) -> ValueID {
        let s = shape(x)
        let (n, t, dim) = (s[0], s[1], s[2])
        let headDim = dim / b.heads
        let scale = Float(1 / Double(headDim).squareRoot())
        let qkv = linear(b.qkv, layerNorm(b.norm1, x, label: label + ".norm1"), label: label + ".attn.qkv")
        let attention: ValueID
        if let sizes {
            attention = add(.sequenceMixer(.proportionalAttention(heads: b.heads, headDim: headDim, scale: scale)),
                            input: qkv, auxiliary: [sizes], outputShape: s,
                            scratch: t + SelfAttentionKernel.scratchCount(tokens: t), label: label + ".attn")
        } else {
            attention = add(.selfAttention(heads: b.heads, headDim: headDim, scale: scale), input: qkv,
                            outputShape: s, scratch: SelfAttentionKernel.scratchCount(tokens: t), label: label + ".attn")
        }
        var attended = linear(b.proj, attention, residual: x, label: label + ".attn.proj")
        let merged = min(r, (t - 1) / 2)
        if merged > 0 {
            let match = TokenMatch(heads: b.heads, headDim: headDim, merged: merged, protectsFirst: true)
            let destinations = add(.sequenceMixer(.tokenMatch(match)), input: qkv, outputShape: [n, t, 1],
                                   scratch: TokenMergingKernel.matchScratchCount(tokens: t, headDim: headDim),
                                   label: label + ".tome.match")
            let previous = sizes.map { [$0] } ?? []
            attended = add(.sequenceMixer(.tokenMerge), input: attended, auxiliary: [destinations] + previous,
                           outputShape: [n, t - merged, dim], scratch: t - merged, label: label + ".tome.merge")
            sizes = add(.sequenceMixer(.tokenSizes), input: destinations, auxiliary: previous,
                        outputShape: [n, t - merged, 1], label: label + ".tome.size")
        }
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
