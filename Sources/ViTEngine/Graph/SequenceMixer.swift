import Foundation

/// Token mixers of the "Which Transformer to Favor" benchmark (Nauen et al., WACV 2025) other
/// than softmax attention over all tokens. Each case is one fused node on `[N, T, ·]` sequences;
/// the layers that build them live in `Models/` (`Linformer.swift`, `FNet.swift`,
/// `LinearTransformer.swift`, `Synthesizer.swift`, `ToMe.swift`, `EViT.swift`).
enum SequenceMixer: Sendable {
    /// Linformer attention on a `[N, T, 3·C]` q|k|v projection (heads inside each block, as
    /// timm's qkv): keys and values are projected along the tokens to `length` rows by the
    /// tables (`E = proj_k`, `F = proj_v`), then every head attends from its T queries to those
    /// rows → `[N, T, C]`.
    case linformer(LinformerTables)
    /// FNet: `Re(FFT2(x)) / (T·C)` over tokens × channels of `[N, T, C]` (+ residual), as dense
    /// real DFT products.
    case fourier(FourierTables)
    /// The Linear Transformer's attention on a `[N, T, 3·C]` qkv projection → `[N, T, C]`: with
    /// `φ(x) = elu(x) + 1`, every head computes `φ(Q)·(φ(K)ᵀ·V)` and divides each row by
    /// `φ(q)·Σφ(k) + ε`, linear in the tokens.
    case linearAttention(heads: Int, headDim: Int, epsilon: Float)
    /// The factorized dense Synthesizer's attention on the normalized tokens `[N, T, C]`, with the
    /// values `v(x)` `[N, T, C]` as the node's one auxiliary value → `[N, T, C]`: every head's
    /// scores come from the token alone (``SynthesizerTables``), no query–key product.
    case factorizedDense(SynthesizerTables)
    /// The random Synthesizer's attention on the values `[N, T, C]`: every head multiplies them
    /// by its constant `[T, T]` attention (``FixedAttentionTables``) → `[N, T, C]`.
    case fixedAttention(FixedAttentionTables)
    /// ToMe's proportional attention on a `[N, T, 3·C]` qkv projection: softmax attention with
    /// `log(size_j)` added to every score of key j; the sizes `[N, T, 1]` are the node's one
    /// auxiliary value.
    case proportionalAttention(heads: Int, headDim: Int, scale: Float)
    /// ToMe's bipartite soft matching on the keys of a `[N, T, 3·C]` qkv projection (their mean
    /// over heads) → `[N, T, 1]`: the index each token has in the merged sequence.
    case tokenMatch(TokenMatch)
    /// Tokens `[N, T, C]` merged by a match (auxiliary 0) into `[N, T', C]`: the size-weighted
    /// mean of the tokens sent to each place (sizes: auxiliary 1, or 1 each when absent).
    case tokenMerge
    /// The merged tokens' sizes `[N, T', 1]` from a match (the input) and the sizes before it
    /// (auxiliary 0, or 1 each when absent).
    case tokenSizes
    /// EViT's attentiveness of the tokens of a `[N, T, 3·C]` qkv projection → `[N, T − 1, 1]`:
    /// the class token's attention to each other token (softmax over all T keys per head), the
    /// mean over heads.
    case classAttentionScores(heads: Int, headDim: Int, scale: Float)
    /// EViT's token removal on `[N, T, C]` tokens, their scores (auxiliary 0) →
    /// `[N, 1 + kept (+ 1), C]`: the class token, the `kept` highest-scoring tokens from the most
    /// attended down, and with `fusesRest` one token more, the score-weighted sum of the others.
    case attentiveTokens(kept: Int, fusesRest: Bool)

    var kind: String {
        switch self {
        case .linformer: "linformer attention"
        case .fourier: "fourier mixing"
        case .linearAttention: "linear attention"
        case .factorizedDense, .fixedAttention: "synthesized attention"
        case .proportionalAttention: "self-attention"
        case .tokenMatch, .tokenMerge, .tokenSizes: "token merging"
        case .classAttentionScores, .attentiveTokens: "token removal"
        }
    }

    /// Multiply-accumulates per image (one per product term, as fvcore counts einsums and GEMMs).
    func macsPerImage(input: [Int], output: [Int]) -> Int {
        switch self {
        case let .linformer(l):
            // Keys and values projected along the tokens, then q·kᵀ and attn·v, over all heads.
            let t = input[1], c = output[2]
            return 2 * l.length * t * c + 2 * t * l.length * c
        case let .fourier(f):
            // x·cos_C and x·sin_C, then cos_T·(·) and sin_T·(·).
            return 2 * f.tokens * f.channels * f.channels + 2 * f.tokens * f.tokens * f.channels
        case let .linearAttention(heads, headDim, _):
            // φ(K)ᵀ·V and φ(Q)·(φ(K)ᵀ·V) per head, and the normalizer φ(Q)·Σφ(K).
            return heads * (2 * input[1] * headDim * headDim + input[1] * headDim)
        case let .factorizedDense(s):
            // f_a and f_b on every token, then attn·v per head.
            let t = input[1], c = input[2]
            return t * c * s.heads * (s.factor + s.maxLength / s.factor) + t * t * c
        case .fixedAttention:
            // attn·v per head (the attention itself is a constant of the graph).
            return input[1] * input[1] * input[2]
        case let .proportionalAttention(heads, headDim, _):
            return heads * 2 * input[1] * input[1] * headDim
        case let .tokenMatch(m):
            // The similarity of every even token to every odd one (ToMe's `a @ b.T`).
            let t = input[1]
            return ((t + 1) / 2) * (t / 2) * m.headDim
        case .tokenMerge, .tokenSizes:
            return 0
        case let .classAttentionScores(heads, headDim, _):
            // The class token's query against every key, per head.
            return heads * input[1] * headDim
        case let .attentiveTokens(kept, fusesRest):
            // The fused token: every dropped token times its score.
            return fusesRest ? (input[1] - 1 - kept) * input[2] : 0
        }
    }
}

/// The sequence-length projections of one Linformer layer, resized for one graph's tokens.
struct LinformerTables: Sendable {
    var heads: Int
    var headDim: Int
    /// `k`: rows keys and values are projected to.
    var length: Int
    /// `[2, T, length]`: `proj_k` then `proj_v`, for this graph's T tokens.
    var projections: [Float]
    var scale: Float
}

/// The factor maps of one Synthesizer layer for one graph's tokens (see `Synthesizer.swift`).
struct SynthesizerTables: Sendable {
    var heads: Int
    var headDim: Int
    /// `f`, and `L` (the padded length; each head's `b` has `L/f` values).
    var factor: Int
    var maxLength: Int
    /// `f_a` `[heads·f, C]` and `f_b` `[heads·L/f, C]` in PyTorch's layout, with their biases.
    var aWeight: [Float]
    var aBias: [Float]
    var bWeight: [Float]
    var bBias: [Float]
}

/// The random Synthesizer's attention of one layer for one graph's tokens: `[heads, T, T]`,
/// softmax applied (see `Synthesizer.swift`).
struct FixedAttentionTables: Sendable {
    var heads: Int
    var headDim: Int
    var tokens: Int
    var weights: [Float]
}

/// The real and imaginary DFT matrices of an FNet layer, with `norm="forward"`'s `1/n` folded in.
struct FourierTables: Sendable {
    var tokens: Int
    var channels: Int
    /// `[T, T]` `cos(2π·i·j/T)/T` and `sin(2π·i·j/T)/T`.
    var tokenCos: [Float]
    var tokenSin: [Float]
    /// `[C, C]` `cos(2π·i·j/C)/C` and `sin(2π·i·j/C)/C`.
    var channelCos: [Float]
    var channelSin: [Float]

    init(tokens t: Int, channels c: Int) {
        tokens = t
        channels = c
        (tokenCos, tokenSin) = Self.dft(t)
        (channelCos, channelSin) = Self.dft(c)
    }

    /// Symmetric `n×n` cos and sin matrices over `n`, the angle reduced mod n in integers so the
    /// doubles stay exact for large indices.
    private static func dft(_ n: Int) -> ([Float], [Float]) {
        var cosine = [Float](repeating: 0, count: n * n), sine = cosine
        for i in 0..<n {
            for j in 0..<n {
                let angle = 2 * Double.pi * Double((i * j) % n) / Double(n)
                cosine[i * n + j] = Float(cos(angle) / Double(n))
                sine[i * n + j] = Float(sin(angle) / Double(n))
            }
        }
        return (cosine, sine)
    }
}

/// ToMe's bipartite soft matching of one layer.
struct TokenMatch: Sendable {
    var heads: Int
    var headDim: Int
    /// Tokens merged away (already clamped to half the unprotected tokens).
    var merged: Int
    /// Whether token 0 (the class token) is kept out of the merging.
    var protectsFirst: Bool
}
