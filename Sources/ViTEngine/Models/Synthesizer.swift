import CKernels
import Foundation

/// The dense Synthesizer with factorized attention (Tay et al., ICML 2021, "Synthesizer:
/// Rethinking Self-Attention in Transformer Models") as the "Which Transformer to Favor"
/// benchmark builds it into timm's ViT (`architectures/synthesizer.py`,
/// `synthesizer_fd_vit_*`, taxonomy class "fixed"): no query–key products. Each head
/// synthesizes its `[T, T]` attention from the token alone: two linear maps give `a = f_a(x)`
/// (`f` values) and `b = f_b(x)` (`L/f` values, `L = f·⌈T/f⌉ ≥ T`), the score of token n for
/// key j is `a[n, j / (L/f)] · b[n, j / f]` (the benchmark's `repeat_interleave` product, cut to
/// T), then softmax and the head's values `v(x)`.
///
/// At another resolution the benchmark's `set_image_res` picks `f = round(√T)` for the new T and
/// resizes the rows of `f_a` and `f_b` (all heads as one axis) by `F.interpolate(mode="linear")`.
///
/// The random Synthesizer (`synthesizer_fr_vit_*`) goes further: each head's attention is a
/// learned constant, `softmax((R₁·R₂)[:T, :T])` with `R₁` `[L, f]`, `R₂` `[f, L]` (`f = 8`,
/// `L = f·⌈T/f⌉`), the same for every image, so the engine computes it once per graph and a block
/// only multiplies it with the values. At another size `set_image_res` resizes both factors along
/// `L` linearly.

/// The attention of one block: `f_a`, `f_b` as read (resized per graph), `v` and `proj` packed.
struct FactorizedDenseAttention: Sendable {
    /// The factor maps at the trained size: `f`, `L` (the padded sequence length it was trained
    /// for), `f_a.weight` `[heads·f, C]`, `f_b.weight` `[heads·L/f, C]` and their biases (zeros
    /// without).
    var trained: SynthesizerTables
    var v: LinearLayer
    var proj: LinearLayer

    /// `f` and `L` of the benchmark for a sequence of `tokens` (class token included).
    static func factors(tokens: Int) -> (factor: Int, maxLength: Int) {
        let f = Int((Double(tokens).squareRoot()).rounded(.toNearestOrEven))
        return (f, f * ((tokens + f - 1) / f))
    }

    /// The factor tables for a graph of `tokens` tokens: as trained, or resized as
    /// `set_image_res` does.
    func tables(tokens: Int, channels c: Int) -> SynthesizerTables {
        let (f, length) = Self.factors(tokens: tokens)
        if f == trained.factor, length == trained.maxLength { return trained }
        let heads = trained.heads
        let rows = (a: heads * trained.factor, b: heads * trained.maxLength / trained.factor)
        let newRows = (a: heads * f, b: heads * length / f)
        func resize(_ w: [Float], _ from: Int, _ to: Int, width: Int) -> [Float] {
            Interpolation.linear.resample(w, from: (1, from), to: (1, to), channels: width)
        }
        return SynthesizerTables(heads: heads, headDim: trained.headDim, factor: f, maxLength: length,
                                 aWeight: resize(trained.aWeight, rows.a, newRows.a, width: c),
                                 aBias: resize(trained.aBias, rows.a, newRows.a, width: 1),
                                 bWeight: resize(trained.bWeight, rows.b, newRows.b, width: c),
                                 bBias: resize(trained.bBias, rows.b, newRows.b, width: 1))
    }
}

/// The attention of one random Synthesizer block: the factors as read, `v` and `proj` packed.
struct FactorizedRandomAttention: Sendable {
    var heads: Int
    var factor: Int
    var maxLength: Int
    /// `random_attn_1` `[heads, L, f]` and `random_attn_2` `[heads, f, L]`.
    var first: [Float]
    var second: [Float]
    var v: LinearLayer
    var proj: LinearLayer

    static func maxLength(tokens: Int, factor f: Int) -> Int { f * ((tokens + f - 1) / f) }

    /// Every head's `[T, T]` attention for a graph of `tokens` tokens, softmax applied
    /// (the factors' product in double, rounded once, as the reference's float32 product is
    /// rounded once).
    func tables(tokens t: Int) -> FixedAttentionTables {
        let f = factor, length = Self.maxLength(tokens: t, factor: f)
        var r1 = first, r2 = second
        if length != maxLength {
            r1 = Interpolation.linear.resample(r1, from: (heads, maxLength), to: (heads, length), channels: f)
            r2 = Interpolation.linear.resample(r2, from: (heads * f, maxLength), to: (heads * f, length), channels: 1)
        }
        var weights = [Float](repeating: 0, count: heads * t * t)
        for h in 0..<heads {
            for n in 0..<t {
                for m in 0..<t {
                    var sum = 0.0
                    for i in 0..<f {
                        sum += Double(r1[(h * length + n) * f + i]) * Double(r2[(h * f + i) * length + m])
                    }
                    weights[(h * t + n) * t + m] = Float(sum)
                }
            }
        }
        weights.withUnsafeMutableBufferPointer { vit_softmax_rows($0.baseAddress!, nil, Int32(heads * t), Int32(t)) }
        return FixedAttentionTables(heads: heads, headDim: v.outFeatures / heads, tokens: t, weights: weights)
    }
}

/// A pre-norm block whose attention is the factorized dense Synthesizer's (`FactorizedDenseBlock`).
struct SynthesizerBlock: Sendable {
    var norm1: LayerNormLayer
    var attention: FactorizedDenseAttention
    var norm2: LayerNormLayer
    var mlp: MLPLayer

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, heads: Int, tokens: Int,
                           bias: Bool) -> [TensorSpec] {
        let (f, length) = FactorizedDenseAttention.factors(tokens: tokens)
        let a = prefix + ".attn"
        return TensorSpec.layerNorm(prefix + ".norm1", dim)
            + TensorSpec.linear(a + ".f_a", in: dim, out: heads * f, bias: bias)
            + TensorSpec.linear(a + ".f_b", in: dim, out: heads * length / f, bias: bias)
            + TensorSpec.linear(a + ".v", in: dim, out: dim, bias: bias)
            + TensorSpec.linear(a + ".proj", in: dim, out: dim)
            + TensorSpec.layerNorm(prefix + ".norm2", dim)
            + MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden)
    }
}

/// A pre-norm block whose attention is the random Synthesizer's (`FactorizedRandomBlock`).
struct RandomSynthesizerBlock: Sendable {
    var norm1: LayerNormLayer
    var attention: FactorizedRandomAttention
    var norm2: LayerNormLayer
    var mlp: MLPLayer

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, heads: Int, tokens: Int, factor f: Int,
                           bias: Bool) -> [TensorSpec] {
        let length = FactorizedRandomAttention.maxLength(tokens: tokens, factor: f)
        let a = prefix + ".attn"
        return TensorSpec.layerNorm(prefix + ".norm1", dim)
            + [TensorSpec(name: a + ".random_attn_1", shape: [heads, length, f]),
               TensorSpec(name: a + ".random_attn_2", shape: [heads, f, length])]
            + TensorSpec.linear(a + ".v", in: dim, out: dim, bias: bias)
            + TensorSpec.linear(a + ".proj", in: dim, out: dim)
            + TensorSpec.layerNorm(prefix + ".norm2", dim)
            + MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden)
    }
}

extension ParameterLoader {
    mutating func randomSynthesizerBlock(_ prefix: String, config c: VisionTransformerConfig,
                                         factor f: Int) -> RandomSynthesizerBlock {
        let a = prefix + ".attn"
        let attention = FactorizedRandomAttention(
            heads: c.numHeads, factor: f, maxLength: FactorizedRandomAttention.maxLength(tokens: c.trainTokens, factor: f),
            first: self[a + ".random_attn_1"], second: self[a + ".random_attn_2"],
            v: linear(a + ".v", bias: c.qkvBias), proj: linear(a + ".proj"))
        return RandomSynthesizerBlock(norm1: layerNorm(prefix + ".norm1", epsilon: c.layerNormEpsilon),
                                      attention: attention,
                                      norm2: layerNorm(prefix + ".norm2", epsilon: c.layerNormEpsilon),
                                      mlp: mlp(prefix + ".mlp"))
    }

    mutating func synthesizerBlock(_ prefix: String, config c: VisionTransformerConfig) -> SynthesizerBlock {
        let a = prefix + ".attn"
        let (f, length) = FactorizedDenseAttention.factors(tokens: c.trainTokens)
        let zeros = { (n: Int) in [Float](repeating: 0, count: n) }
        let trained = SynthesizerTables(
            heads: c.numHeads, headDim: c.embedDim / c.numHeads, factor: f, maxLength: length,
            aWeight: self[a + ".f_a.weight"], aBias: c.qkvBias ? self[a + ".f_a.bias"] : zeros(c.numHeads * f),
            bWeight: self[a + ".f_b.weight"],
            bBias: c.qkvBias ? self[a + ".f_b.bias"] : zeros(c.numHeads * length / f))
        let attention = FactorizedDenseAttention(trained: trained, v: linear(a + ".v", bias: c.qkvBias),
                                                 proj: linear(a + ".proj"))
        return SynthesizerBlock(norm1: layerNorm(prefix + ".norm1", epsilon: c.layerNormEpsilon), attention: attention,
                                norm2: layerNorm(prefix + ".norm2", epsilon: c.layerNormEpsilon),
                                mlp: mlp(prefix + ".mlp"))
    }
}

extension GraphBuilder {
    mutating func randomSynthesizerBlock(_ b: RandomSynthesizerBlock, _ tables: FixedAttentionTables, _ x: ValueID,
                                         label: String) -> ValueID {
        let s = shape(x)
        let values = linear(b.attention.v, layerNorm(b.norm1, x, label: label + ".norm1"), label: label + ".attn.v")
        let mixed = add(.sequenceMixer(.fixedAttention(tables)), input: values, outputShape: s, label: label + ".attn")
        let attended = linear(b.attention.proj, mixed, residual: x, label: label + ".attn.proj")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }

    mutating func synthesizerBlock(_ b: SynthesizerBlock, _ tables: SynthesizerTables, _ x: ValueID,
                                   label: String) -> ValueID {
        let s = shape(x)
        let normed = layerNorm(b.norm1, x, label: label + ".norm1")
        let values = linear(b.attention.v, normed, label: label + ".attn.v")
        let mixed = add(.sequenceMixer(.factorizedDense(tables)), input: normed, auxiliary: [values],
                        outputShape: s, scratch: SynthesizerKernel.scratchCount(tokens: s[1], tables),
                        label: label + ".attn")
        let attended = linear(b.attention.proj, mixed, residual: x, label: label + ".attn.proj")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
