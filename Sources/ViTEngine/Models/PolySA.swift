/// Poly-SA (the "Which Transformer to Favor" benchmark's `architectures/poly_sa.py`, after
/// Babiloni et al., "Poly-NL: Linear Complexity Non-local Layers with Polynomials", ICCV 2021;
/// taxonomy class "fixed"/"low-rank": no token attends to another) in timm's ViT: every block keeps timm's
/// `Block` and its qkv and projection, and its attention becomes, per head,
/// `out[n] = q[n] ⊙ p₁[n]·LN(Σₘ p₂[m]·(k[m] ⊙ v[m]))` — one modulator per head and image from
/// the whole sequence, normalized over the head's channels (one `LayerNorm(d)` shared by the
/// heads), scaled per token (``PolySelfAttention``). `p₁`, `p₂` `[heads, T]` are learned per
/// position, so at another size the benchmark's `set_image_res` resizes their patch columns
/// bicubically (the class token's column kept), and so does the engine.

/// One Poly-SA block.
struct PolyBlock: Sendable {
    var block: TransformerBlock
    /// `[heads, T]` as read (training size).
    var tokenScales: [Float]
    var modulatorWeights: [Float]
    /// The modulator's `LayerNorm(d)`.
    var normWeight: [Float]
    var normBias: [Float]
    var epsilon: Float

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, heads: Int, tokens: Int,
                           qkvBias: Bool) -> [TensorSpec] {
        let a = prefix + ".attn"
        var spec = TensorSpec.layerNorm(prefix + ".norm1", dim)
        spec += [TensorSpec(name: a + ".p1", shape: [heads, tokens]), TensorSpec(name: a + ".p2", shape: [heads, tokens])]
        spec += TensorSpec.linear(a + ".qkv", in: dim, out: 3 * dim, bias: qkvBias)
        spec += TensorSpec.linear(a + ".proj", in: dim, out: dim)
        spec += TensorSpec.layerNorm(a + ".norm", dim / heads)
        spec += TensorSpec.layerNorm(prefix + ".norm2", dim)
        spec += MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden)
        return spec
    }

    /// `p` `[heads, T₀]` (prefix columns, then a `g₀ × g₀` grid) for `grid`: the grid columns
    /// resized as the benchmark's `F.interpolate(mode="bicubic", align_corners=False)`.
    static func resized(_ p: [Float], heads: Int, prefix: Int, trainGrid: Int, grid: (height: Int, width: Int)) -> [Float] {
        let trained = prefix + trainGrid * trainGrid
        if grid.height == trainGrid, grid.width == trainGrid { return p }
        // Heads as channels of a [g₀·g₀, heads] grid.
        var channelsLast = [Float](repeating: 0, count: trainGrid * trainGrid * heads)
        for h in 0..<heads {
            for i in 0..<(trainGrid * trainGrid) { channelsLast[i * heads + h] = p[h * trained + prefix + i] }
        }
        let out = Interpolation.cubic.resample(channelsLast, from: (trainGrid, trainGrid), to: grid, channels: heads)
        let positions = grid.height * grid.width, tokens = prefix + positions
        var resized = [Float](repeating: 0, count: heads * tokens)
        for h in 0..<heads {
            for j in 0..<prefix { resized[h * tokens + j] = p[h * trained + j] }
            for i in 0..<positions { resized[h * tokens + prefix + i] = out[i * heads + h] }
        }
        return resized
    }
}

extension ParameterLoader {
    mutating func polyBlock(_ prefix: String, config c: VisionTransformerConfig) -> PolyBlock {
        let a = prefix + ".attn"
        return PolyBlock(
            block: TransformerBlock(norm1: layerNorm(prefix + ".norm1", epsilon: c.layerNormEpsilon),
                                    qkv: linear(a + ".qkv", bias: c.qkvBias), heads: c.numHeads,
                                    proj: linear(a + ".proj"),
                                    norm2: layerNorm(prefix + ".norm2", epsilon: c.layerNormEpsilon),
                                    mlp: mlp(prefix + ".mlp")),
            tokenScales: self[a + ".p1"], modulatorWeights: self[a + ".p2"],
            normWeight: self[a + ".norm.weight"], normBias: self[a + ".norm.bias"],
            epsilon: Float(c.layerNormEpsilon))
    }
}

extension GraphBuilder {
    /// qkv, Poly-SA, projection + residual, then timm's MLP, for a patch `grid`.
    mutating func polyBlock(_ p: PolyBlock, config c: VisionTransformerConfig, grid: (height: Int, width: Int),
                            _ x: ValueID, label: String) -> ValueID {
        let b = p.block, s = shape(x), heads = b.heads
        func resized(_ table: [Float]) -> [Float] {
            PolyBlock.resized(table, heads: heads, prefix: c.prefixTokens, trainGrid: c.trainGrid, grid: grid)
        }
        let attention = PolySelfAttention(heads: heads, headDim: c.embedDim / heads, tokens: s[1],
                                          tokenScales: resized(p.tokenScales), modulatorWeights: resized(p.modulatorWeights),
                                          normWeight: p.normWeight, normBias: p.normBias, epsilon: p.epsilon)
        let qkv = linear(b.qkv, layerNorm(b.norm1, x, label: label + ".norm1"), label: label + ".attn.qkv")
        let mixed = add(.family(attention), input: qkv, outputShape: s, scratch: attention.scratchPerItem,
                        label: label + ".attn")
        let attended = linear(b.proj, mixed, residual: x, label: label + ".attn.proj")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
