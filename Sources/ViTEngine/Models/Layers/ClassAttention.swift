/// CaiT's two attention variants (Touvron et al., ICCV 2021; timm `cait.py`), as graph layers.
///
/// *Talking-heads attention* (the self-attention of CaiT's patch blocks) mixes the heads' score
/// matrices with a linear layer across heads before the softmax (`proj_l`) and the
/// probabilities again after it (`proj_w`).
///
/// *Class attention* (CaiT's last blocks) lets only the class token attend: the query is the
/// class token's, the keys and values come from the class token and the patch tokens, and only
/// the class token is updated; the patch tokens pass through unchanged.

/// A talking-heads self-attention on a `[N, T, 3·C]` qkv projection (timm's q | k | v blocks,
/// heads inside each) → `[N, T, C]`.
struct TalkingHeadsAttentionLayer: Sendable {
    var heads: Int
    var headDim: Int
    var scale: Float
    /// `proj_l`: `[heads, heads]` weight and `[heads]` bias applied to the scaled scores.
    var mixScores: LinearLayer
    /// `proj_w`: applied to the softmax probabilities.
    var mixProbabilities: LinearLayer
}

/// The first half of a class-attention block, fused:
/// `cls + γ₁ · proj(attention(q(n₀), k(n), v(n)))` with `n = norm1([cls; patches])`.
/// The node reads the patch tokens `[N, T, C]` as its input and the class token `[N, C]` as its
/// residual (the first block has none and reads ``classToken``), and writes the new class token.
struct ClassAttentionLayer: Sendable {
    var heads: Int
    var headDim: Int
    var scale: Float
    var norm: LayerNormLayer
    /// Packed for the GEMM; `proj` has LayerScale folded in.
    var query: LinearLayer
    var key: LinearLayer
    var value: LinearLayer
    var proj: LinearLayer
    /// `[C]`: the learned class token, used when the node has no residual input.
    var classToken: ParamID?
}

extension ParameterLoader {
    /// timm `TalkingHeadAttn` at `prefix` (`blocks.3.attn`): qkv and proj packed for the GEMM,
    /// `proj` with `outputScale` folded in, `proj_l` and `proj_w` as read.
    mutating func talkingHeadsAttention(_ prefix: String, heads: Int, outputScale: [Float]?)
        -> (qkv: LinearLayer, attention: TalkingHeadsAttentionLayer, proj: LinearLayer) {
        let qkv = linear(prefix + ".qkv")
        let headDim = qkv.outFeatures / 3 / heads
        let attention = TalkingHeadsAttentionLayer(
            heads: heads, headDim: headDim, scale: Float(1 / Double(headDim).squareRoot()),
            mixScores: unpackedLinear(prefix + ".proj_l"), mixProbabilities: unpackedLinear(prefix + ".proj_w"))
        return (qkv, attention, linear(prefix + ".proj", outputScale: outputScale))
    }

    /// timm `LayerScaleBlockClassAttn`'s norm1 + `ClassAttn` + its LayerScale at `prefix`
    /// (`gamma_1` in CaiT, `gamma1` in XCiT).
    mutating func classAttention(_ prefix: String, heads: Int, epsilon: Double, layerScale: String = "gamma_1",
                                 classToken: ParamID?) -> ClassAttentionLayer {
        let q = linear(prefix + ".attn.q")
        let headDim = q.outFeatures / heads
        let gamma1 = self[prefix + "." + layerScale]
        return ClassAttentionLayer(
            heads: heads, headDim: headDim, scale: Float(1 / Double(headDim).squareRoot()),
            norm: layerNorm(prefix + ".norm1", epsilon: epsilon), query: q, key: linear(prefix + ".attn.k"),
            value: linear(prefix + ".attn.v"), proj: linear(prefix + ".attn.proj", outputScale: gamma1),
            classToken: classToken)
    }
}

extension GraphBuilder {
    /// Talking-heads self-attention over a `[N, T, C]` sequence: qkv, attention, projection (+ residual).
    mutating func talkingHeadsAttention(qkv: LinearLayer, _ a: TalkingHeadsAttentionLayer, proj: LinearLayer,
                                        _ x: ValueID, residual: ValueID?, label: String) -> ValueID {
        let s = shape(x)
        let q = linear(qkv, x, label: label + ".qkv")
        let attended = add(.talkingHeadsAttention(a), input: q, outputShape: [s[0], s[1], a.heads * a.headDim],
                           scratch: TalkingHeadsAttentionKernel.scratchCount(a, tokens: s[1]), label: label)
        return linear(proj, attended, residual: residual, label: label + ".proj")
    }

    /// The class token after a class-attention block's attention half, from the patch tokens
    /// `[N, T, C]` and the class token `[N, C]` (nil: the layer's learned token).
    mutating func classAttention(_ a: ClassAttentionLayer, patches x: ValueID, classToken: ValueID?,
                                 label: String) -> ValueID {
        let s = shape(x)
        return add(.classAttention(a), input: x, residual: classToken, outputShape: [s[0], s[2]],
                   scratch: ClassAttentionKernel.scratchCount(a, tokens: s[1]), label: label)
    }
}
