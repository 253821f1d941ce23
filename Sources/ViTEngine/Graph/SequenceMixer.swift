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

    var kind: String {
        switch self {
        case .linformer: "linformer attention"
        case .fourier: "fourier mixing"
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
