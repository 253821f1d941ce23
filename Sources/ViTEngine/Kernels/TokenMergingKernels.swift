import Foundation

/// ToMe's kernels (Bolya et al., ICLR 2023, as the "Which Transformer to Favor" benchmark runs
/// them), one image per call. A match is stored as a `[T]` float row: the index each token takes
/// in the merged sequence (exact in a float for any T below 2²⁴).
enum TokenMergingKernel {
    /// Floats of scratch one ``match(_:qkv:tokens:scratch:destinations:)`` call needs.
    static func matchScratchCount(tokens t: Int, headDim d: Int) -> Int {
        t * d + ((t + 1) / 2) * (t / 2) + 2 * ((t + 1) / 2)
    }

    /// Bipartite soft matching of one image (the benchmark's `bipartite_soft_matching`):
    ///
    /// 1. metric = keys averaged over heads, each row divided by its L2 norm;
    /// 2. scores = even tokens · odd tokensᵀ (the class token's row is −∞);
    /// 3. every even token's best odd token (first on a tie, as `max`); the `merged` even tokens
    ///    with the highest best score are merged into theirs (never the class token; ties: lower
    ///    index first, where torch's unstable `argsort` leaves the order open; the fixtures are
    ///    chosen without ties);
    /// 4. merged order: the kept even tokens by index, then every odd token by index.
    static func match(_ m: TokenMatch, qkv: UnsafePointer<Float>, tokens t: Int, scratch: UnsafeMutablePointer<Float>,
                      destinations: UnsafeMutablePointer<Float>) {
        let d = m.headDim, c = m.heads * d, even = (t + 1) / 2, odd = t / 2
        let metric = scratch, scores = metric + t * d, best = scores + even * odd, bestIndex = best + even
        for i in 0..<t {
            let row = metric + i * d
            for e in 0..<d { row[e] = 0 }
            for h in 0..<m.heads {
                let k = qkv + i * 3 * c + c + h * d
                for e in 0..<d { row[e] += k[e] }
            }
            var squares: Float = 0
            for e in 0..<d {
                row[e] /= Float(m.heads)
                squares += row[e] * row[e]
            }
            let norm = squares.squareRoot()
            for e in 0..<d { row[e] /= norm }
        }
        BLAS.gemm(transposeB: true, m: even, n: odd, k: d, a: metric, lda: 2 * d, b: metric + d, ldb: 2 * d,
                  c: scores, ldc: odd)
        for i in 0..<even {
            var top = -Float.infinity, index = 0
            if !(i == 0 && m.protectsFirst) {
                for j in 0..<odd where scores[i * odd + j] > top || j == 0 {
                    top = scores[i * odd + j]
                    index = j
                }
            }
            best[i] = top
            bestIndex[i] = Float(index)
        }
        // Exactly `merged` unprotected rows merge whatever the scores hold (a NaN, from a key row of
        // zeros, ranks last), so every merged place is filled.
        let first = m.protectsFirst ? 1 : 0
        for i in first..<even where best[i].isNaN { best[i] = -.infinity }
        let kept = even - m.merged
        var place = 0
        for i in 0..<even {
            var rank = m.merged
            if i >= first {
                rank = 0
                for j in first..<even where best[j] > best[i] || (best[j] == best[i] && j < i) { rank += 1 }
            }
            if rank < m.merged {
                destinations[2 * i] = Float(kept + Int(bestIndex[i]))
            } else {
                destinations[2 * i] = Float(place)
                place += 1
            }
        }
        for j in 0..<odd { destinations[2 * j + 1] = Float(kept + j) }
    }

    /// `out[p] = Σ_{i→p} x_i·s_i / Σ_{i→p} s_i` (the benchmark's `merge_wavg`) over one image's
    /// `[tokens, channels]` rows; `scratch` holds the `merged` size sums.
    static func merge(x: UnsafePointer<Float>, tokens t: Int, channels c: Int, destinations: UnsafePointer<Float>,
                      sizes: UnsafePointer<Float>?, merged: Int, scratch weights: UnsafeMutablePointer<Float>,
                      out: UnsafeMutablePointer<Float>) {
        out.initialize(repeating: 0, count: merged * c)
        weights.initialize(repeating: 0, count: merged)
        for i in 0..<t {
            let p = Int(destinations[i]), s = sizes?[i] ?? 1
            weights[p] += s
            let row = out + p * c, source = x + i * c
            for ch in 0..<c { row[ch] += source[ch] * s }
        }
        for p in 0..<merged {
            let row = out + p * c
            for ch in 0..<c { row[ch] /= weights[p] }
        }
    }

    /// The merged tokens' sizes: `out[p] = Σ_{i→p} s_i` (1 each when `sizes` is nil).
    static func sizes(destinations: UnsafePointer<Float>, tokens t: Int, sizes: UnsafePointer<Float>?,
                      merged: Int, out: UnsafeMutablePointer<Float>) {
        out.initialize(repeating: 0, count: merged)
        for i in 0..<t { out[Int(destinations[i])] += sizes?[i] ?? 1 }
    }

    /// `log(size)` of every token, the key bias of proportional attention (as float32 `log`).
    static func logSizes(_ sizes: UnsafePointer<Float>, tokens t: Int, out: UnsafeMutablePointer<Float>) {
        for i in 0..<t { out[i] = Foundation.log(sizes[i]) }
    }
}
