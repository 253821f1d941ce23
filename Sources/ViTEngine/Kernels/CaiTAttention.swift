import CKernels

/// Talking-heads attention (CaiT's patch blocks) for a block of query rows of one image: the
/// rows' scores for every head, mixed across heads (`proj_l`), softmax, mixed again (`proj_w`),
/// then each head's probabilities times its values into the head's output columns. Blocks of
/// query rows are independent, so they are the work items; each block's scores for all heads
/// stay in scratch, and the full `heads × T × T` tensor is never materialized.
enum TalkingHeadsAttentionKernel {
    /// Query rows per work item.
    static let rowsPerBlock = 32

    /// Floats of scratch one work item needs.
    static func scratchCount(_ a: TalkingHeadsAttentionLayer, tokens: Int) -> Int {
        2 * a.heads * min(rowsPerBlock, tokens) * tokens
    }

    static func run(_ a: TalkingHeadsAttentionLayer, parameters p: ParameterStore, qkv: UnsafePointer<Float>,
                    tokens t: Int, rows: Range<Int>, scratch: UnsafeMutablePointer<Float>,
                    out: UnsafeMutablePointer<Float>) {
        let c = a.heads * a.headDim, ld = 3 * c, m = rows.count, block = m * t
        let scores = scratch, mixed = scratch + a.heads * block
        for h in 0..<a.heads {
            let q = qkv + rows.lowerBound * ld + h * a.headDim
            BLAS.gemm(transposeB: true, m: m, n: t, k: a.headDim, alpha: a.scale, a: q, lda: ld,
                      b: qkv + c + h * a.headDim, ldb: ld, beta: 0, c: scores + h * block, ldc: t)
        }
        vit_mix_heads(scores, Int32(a.heads), block, block, p[a.mixScores.weight], p[a.mixScores.bias], mixed)
        vit_softmax_rows(mixed, nil, Int32(a.heads * m), Int32(t))
        vit_mix_heads(mixed, Int32(a.heads), block, block, p[a.mixProbabilities.weight], p[a.mixProbabilities.bias],
                      scores)
        for h in 0..<a.heads {
            BLAS.gemm(m: m, n: a.headDim, k: t, a: scores + h * block, lda: t, b: qkv + 2 * c + h * a.headDim,
                      ldb: ld, beta: 0, c: out + rows.lowerBound * c + h * a.headDim, ldc: c)
        }
    }
}

/// Class attention (CaiT's last blocks) for one image: `[cls; patches]` normalized, the class
/// token's query against every token's key, and the class token updated with the projected
/// result (LayerScale folded into the projection). Only `T + 1` keys and values and one query
/// are computed, as in the reference.
enum ClassAttentionKernel {
    /// Floats of scratch one image needs: the normalized tokens, their keys and values, the
    /// query, the attended vector and one row of scores.
    static func scratchCount(_ a: ClassAttentionLayer, tokens: Int) -> Int {
        let c = a.heads * a.headDim, rows = tokens + 1
        return 3 * rows * c + 2 * c + rows
    }

    /// `cls` is the image's class token (the residual input, or the learned token); `out` may be `cls`.
    static func run(_ a: ClassAttentionLayer, parameters p: ParameterStore, patches x: UnsafePointer<Float>,
                    tokens t: Int, cls: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                    out: UnsafeMutablePointer<Float>) {
        let c = a.heads * a.headDim, rows = t + 1
        let normed = scratch
        normed.update(from: cls, count: c)
        (normed + c).update(from: x, count: t * c)
        SequenceKernels.layerNorm(x: normed, rows: rows, channels: c, weight: p[a.norm.weight], bias: p[a.norm.bias],
                                  epsilon: a.norm.epsilon, out: normed)
        let attended = attend(a, parameters: p, normed: normed, rows: rows, scratch: normed + rows * c)
        ConvolutionKernels.pointwise(x: attended, rows: 1, cin: c, weight: p[a.proj.weight], bias: p[a.proj.bias],
                                     cout: c, activation: .identity, residual: cls, out: out)
    }

    /// The class token's attention over `rows` normalized tokens (the class token first), before
    /// the projection: `C` floats in `scratch` (which needs `2·rows·C + 2·C + rows` floats).
    static func attend(_ a: ClassAttentionLayer, parameters p: ParameterStore, normed: UnsafePointer<Float>, rows: Int,
                       scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let c = a.heads * a.headDim
        let keys = scratch, values = keys + rows * c, query = values + rows * c, attended = query + c
        let scores = attended + c
        func project(_ l: LinearLayer, rows: Int, into y: UnsafeMutablePointer<Float>) {
            ConvolutionKernels.pointwise(x: normed, rows: rows, cin: c, weight: p[l.weight], bias: p[l.bias], cout: c,
                                         activation: .identity, residual: nil, out: y)
        }
        project(a.query, rows: 1, into: query)
        project(a.key, rows: rows, into: keys)
        project(a.value, rows: rows, into: values)
        for h in 0..<a.heads {
            let offset = h * a.headDim
            BLAS.gemv(m: rows, n: a.headDim, alpha: a.scale, a: keys + offset, lda: c, x: query + offset, y: scores)
            vit_softmax_rows(scores, nil, 1, Int32(rows))
            BLAS.gemv(transpose: true, m: rows, n: a.headDim, a: values + offset, lda: c, x: scores,
                      y: attended + offset)
        }
        return UnsafePointer(attended)
    }
}
