/// TokenLearner (Ryoo et al., NeurIPS 2021, "TokenLearner: What Can 8 Learned Tokens Do for
/// Images and Videos?") as the "Which Transformer to Favor" benchmark builds it into timm's ViT
/// (`architectures/token_learner.py`, `TokenLearnerModuleV11`; taxonomy class "token reduction"):
/// after `L = ⌊rel · depth⌋` blocks, the patch tokens are pooled into `S` learned tokens — each a
/// softmax-weighted sum over the patches, the weights from an MLP on the normalized patches
/// (`norm`, `mlp.fc1`, GELU, `mlp.fc2` → `S` scores per patch) — and the prefix (class) token
/// is kept in front; the rest of the network runs on `1 + S` tokens.
///
/// The benchmark assembles its blocks as `blocks[:L] + [token_learner] + blocks[:L]`: the blocks
/// after the TokenLearner are the *first* `L` blocks again (the same modules, so the same
/// weights), and blocks `L…depth−1` are never used. That is the model it trained and timed, and
/// the engine runs it as it is: `token_learner_vit_8_50_*` runs blocks 0–5, the TokenLearner,
/// and blocks 0–5 again; `*_8_75_*` blocks 0–8 twice. Its checkpoints hold the repeated blocks
/// a second time under `blocks.L+1…` (one tensor under two names); the engine reads each block
/// once, from its first name.

/// TokenLearner's settings (the registry's `learned_tokens`, `token_learner_layer_rel`).
public struct TokenLearning: Sendable, Equatable {
    /// `S`: the tokens the patches are pooled into.
    public var tokens: Int
    /// `rel`: the TokenLearner comes after `⌊rel · depth⌋` blocks.
    public var layerFraction: Double

    /// `L`: the blocks run before the TokenLearner, and again after it.
    func blocksBefore(depth: Int) -> Int { Int(layerFraction * Double(depth)) }
}

/// The TokenLearner module (`TokenLearnerModuleV11`).
struct TokenLearnerLayer: Sendable {
    var norm: LayerNormLayer
    var mlp: MLPLayer

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, tokens: Int) -> [TensorSpec] {
        TensorSpec.layerNorm(prefix + ".norm", dim) + MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden, out: tokens)
    }
}

extension ParameterLoader {
    mutating func tokenLearner(_ prefix: String, config c: VisionTransformerConfig) -> TokenLearnerLayer {
        TokenLearnerLayer(norm: layerNorm(prefix + ".norm", epsilon: c.layerNormEpsilon), mlp: mlp(prefix + ".mlp"))
    }
}

extension GraphBuilder {
    /// `[N, prefix + P, C]` → `[N, prefix + S, C]`: the scores of every token (the prefix rows'
    /// are computed and not read), then the pooling.
    mutating func tokenLearner(_ t: TokenLearnerLayer, prefixTokens: Int, _ x: ValueID, label: String) -> ValueID {
        let s = shape(x)
        let scores = mlp(t.mlp, layerNorm(t.norm, x, label: label + ".norm"), residual: nil, label: label + ".mlp")
        let learned = shape(scores)[2]
        let pooling = TokenLearnerPooling(prefixTokens: prefixTokens, patches: s[1] - prefixTokens, learned: learned,
                                          channels: s[2])
        return add(.family(pooling), input: x, auxiliary: [scores], outputShape: [s[0], prefixTokens + learned, s[2]],
                   scratch: pooling.scratchPerItem, label: label)
    }
}
