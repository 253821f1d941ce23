import CKernels

/// Multi-head softmax attention for a block of query rows of one image, every head at once:
/// `softmax(scale · q·kᵀ (+ bias))·v` per head, optionally with talking heads (the heads' score
/// matrices mixed by a linear layer across heads before the softmax and the probabilities mixed
/// again after it). Shared by CaiT's talking-heads attention and EfficientFormerV2's attention.
///
/// Queries, keys and values are row-major matrices with any row stride (one row per token or
/// pixel, heads side by side inside a row), so a fused qkv projection and separate projections
/// read alike. Blocks of query rows are independent, so they are the work items; the block's
/// scores for all heads stay in scratch and the full `heads × Tq × Tk` tensor is never
/// materialized.
enum HeadAttentionKernel {
    /// Query rows per work item.
    static let rowsPerBlock = 32

    /// Rows `[token, channel]` with `stride` floats between tokens.
    struct Rows {
        var base: UnsafePointer<Float>
        var stride: Int
    }

    /// The talking heads' two `[heads, heads]` weights and `[heads]` biases.
    struct HeadMixing {
        var scoresWeight: UnsafePointer<Float>
        var scoresBias: UnsafePointer<Float>
        var probabilitiesWeight: UnsafePointer<Float>
        var probabilitiesBias: UnsafePointer<Float>
    }

    /// Floats of scratch one work item needs.
    static func scratchCount(heads: Int, queries: Int, keys: Int, mixing: Bool) -> Int {
        (mixing ? 2 : 1) * heads * min(rowsPerBlock, queries) * keys
    }

    /// Query rows `rows` (of `queries`) against `keys` key/value rows. `bias` is `[heads, queries,
    /// keys]`, added to the scaled scores (before the talking heads, as EfficientFormerV2 does).
    /// Head `h`'s output goes to columns `h·valueDim ..< (h + 1)·valueDim` of `out`'s rows.
    static func run(heads: Int, keyDim: Int, valueDim: Int, scale: Float, q: Rows, k: Rows, v: Rows,
                    queries: Int, keys t: Int, rows: Range<Int>, bias: UnsafePointer<Float>?, mixing: HeadMixing?,
                    scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, outStride: Int) {
        let m = rows.count, block = m * t
        let scores = scratch
        for h in 0..<heads {
            let s = scores + h * block
            BLAS.gemm(transposeB: true, m: m, n: t, k: keyDim, alpha: scale,
                      a: q.base + rows.lowerBound * q.stride + h * keyDim, lda: q.stride,
                      b: k.base + h * keyDim, ldb: k.stride, beta: 0, c: s, ldc: t)
            if let bias {
                let b = bias + (h * queries + rows.lowerBound) * t
                for i in 0..<block { s[i] += b[i] }
            }
        }
        if let mix = mixing {
            let mixed = scratch + heads * block
            vit_mix_heads(scores, Int32(heads), block, block, mix.scoresWeight, mix.scoresBias, mixed)
            vit_softmax_rows(mixed, nil, Int32(heads * m), Int32(t))
            vit_mix_heads(mixed, Int32(heads), block, block, mix.probabilitiesWeight, mix.probabilitiesBias, scores)
        } else {
            vit_softmax_rows(scores, nil, Int32(heads * m), Int32(t))
        }
        for h in 0..<heads {
            BLAS.gemm(m: m, n: valueDim, k: t, a: scores + h * block, lda: t, b: v.base + h * valueDim, ldb: v.stride,
                      beta: 0, c: out + rows.lowerBound * outStride + h * valueDim, ldc: outStride)
        }
    }
}
