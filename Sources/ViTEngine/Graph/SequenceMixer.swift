import Foundation

/// Token mixers of the "Which Transformer to Favor" benchmark (Nauen et al., WACV 2025) other
/// than softmax attention over all tokens. Each case is one fused node on `[N, T, ·]` sequences;
/// the layers that build them live in `Models/` (`Linformer.swift`, `FNet.swift`).
enum SequenceMixer: Sendable {
    /// Linformer attention on a `[N, T, 3·C]` q|k|v projection (heads inside each block, as
    /// timm's qkv): keys and values are projected along the tokens to `length` rows by the
    /// tables (`E = proj_k`, `F = proj_v`), then every head attends from its T queries to those
    /// rows → `[N, T, C]`.
    case linformer(LinformerTables)
    /// FNet: `Re(FFT2(x)) / (T·C)` over tokens × channels of `[N, T, C]` (+ residual), as dense
    /// real DFT products.
    case fourier(FourierTables)
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

    var kind: String {
        switch self {
        case .linformer: "linformer attention"
        case .fourier: "fourier mixing"
        case .proportionalAttention: "self-attention"
        case .tokenMatch, .tokenMerge, .tokenSizes: "token merging"
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
        case let .proportionalAttention(heads, headDim, _):
            return heads * 2 * input[1] * input[1] * headDim
        case let .tokenMatch(m):
            // The similarity of every even token to every odd one (ToMe's `a @ b.T`).
            let t = input[1]
            return ((t + 1) / 2) * (t / 2) * m.headDim
        case .tokenMerge, .tokenSizes:
            return 0
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
