/// DynamicViT (Rao et al., NeurIPS 2021, "DynamicViT: Efficient Vision Transformers with Dynamic
/// Token Sparsification") as the "Which Transformer to Favor" benchmark builds it
/// (`architectures/dynamic_vit.py`; taxonomy class "token reduction (removal)"), in eval mode: a
/// DeiT whose blocks at `pruning_loc` (3, 6, 9) are preceded by a prediction module
/// (`score_predictor.i`, `PredictorLG`) that scores the patch tokens still kept, and only the
/// `⌊N·ρᵢ⌋` best-scored of them (`N` the image's patch count, `ρᵢ` the cumulative keep ratio,
/// 0.9, 0.9², 0.9³ or 0.7, 0.7², 0.7³) stay, most likely first, behind the class token.
///
/// The predictor: `h = GELU(Linear(LayerNorm(x)))` (LayerNorm's ε = 10⁻⁵); each token's input to
/// the scoring MLP is its own first half of `h` and the mean over the kept tokens of the second
/// half; the MLP (`C → C/2 → C/4 → 2`, GELU between) ends in a log-softmax whose first entry is
/// the token's score. In training the kept set is sampled (Gumbel-softmax); in eval it is the
/// `argsort` of the scores, which the engine reproduces (``DynamicViTScores``, then the shared
/// ``SequenceMixer/attentiveTokens(kept:fusesRest:)`` selection; ties, where torch's unstable
/// sort leaves the order open, go to the lower index).

/// Where DynamicViT prunes, and how much it keeps.
public struct DynamicPruning: Sendable, Equatable {
    /// The blocks (0-based) before which the tokens are pruned (`pruning_loc`).
    public var locations: [Int]
    /// The fraction of the image's patch tokens kept at each location (`token_ratio`).
    public var keepRatios: [Double]

    /// The patch tokens kept at location `i` of an image with `patches` patch tokens, as the
    /// reference's `int(N * token_ratio[i])` in double precision.
    func kept(location i: Int, patches: Int) -> Int { Int(Double(patches) * keepRatios[i]) }
}

/// One `PredictorLG`.
struct TokenScorePredictor: Sendable {
    var norm: LayerNormLayer
    var input: LinearLayer
    var hidden1: LinearLayer
    var hidden2: LinearLayer
    var output: LinearLayer

    static func tensorSpec(_ prefix: String, dim: Int) -> [TensorSpec] {
        TensorSpec.layerNorm(prefix + ".in_conv.0", dim) + TensorSpec.linear(prefix + ".in_conv.1", in: dim, out: dim)
            + TensorSpec.linear(prefix + ".out_conv.0", in: dim, out: dim / 2)
            + TensorSpec.linear(prefix + ".out_conv.2", in: dim / 2, out: dim / 4)
            + TensorSpec.linear(prefix + ".out_conv.4", in: dim / 4, out: 2)
    }
}

extension ParameterLoader {
    /// `PredictorLG`'s `nn.LayerNorm(embed_dim)` has PyTorch's default ε.
    static let predictorNormEpsilon = 1e-5

    mutating func tokenScorePredictor(_ prefix: String) -> TokenScorePredictor {
        TokenScorePredictor(norm: layerNorm(prefix + ".in_conv.0", epsilon: Self.predictorNormEpsilon),
                            input: linear(prefix + ".in_conv.1"), hidden1: linear(prefix + ".out_conv.0"),
                            hidden2: linear(prefix + ".out_conv.2"), output: linear(prefix + ".out_conv.4"))
    }
}

extension GraphBuilder {
    /// `[N, 1 + T', C]` → `[N, 1 + kept, C]`: the class token and the `kept` best-scored tokens.
    mutating func pruneTokens(_ p: TokenScorePredictor, kept: Int, _ x: ValueID, label: String) -> ValueID {
        let s = shape(x)
        let (n, t, c) = (s[0], s[1], s[2])
        guard kept < t - 1 else { return x }
        // The class token's row goes through the first layers too, and is not read after them.
        let h = linear(p.input, layerNorm(p.norm, x, label: label + ".in_conv.0"), activation: .gelu,
                       label: label + ".in_conv.1")
        let mixed = add(.family(DynamicViTTokenContext()), input: h, outputShape: [n, t - 1, c],
                        label: label + ".context")
        let h1 = linear(p.hidden1, mixed, activation: .gelu, label: label + ".out_conv.0")
        let h2 = linear(p.hidden2, h1, activation: .gelu, label: label + ".out_conv.2")
        let logits = linear(p.output, h2, label: label + ".out_conv.4")
        let scores = add(.family(DynamicViTScores()), input: logits, outputShape: [n, t - 1, 1], label: label + ".score")
        return add(.sequenceMixer(.attentiveTokens(kept: kept, fusesRest: false)), input: x, auxiliary: [scores],
                   outputShape: [n, 1 + kept, c], scratch: t - 1, label: label + ".keep")
    }
}
