import CKernels

/// Talking-heads attention (CaiT's patch blocks) for a block of query rows of one image, on the
/// `[T, 3·C]` qkv projection (q | k | v, heads inside each): ``HeadAttentionKernel`` with the
/// layer's `proj_l` and `proj_w` as the talking heads.
enum TalkingHeadsAttentionKernel {
    /// Query rows per work item.
    static var rowsPerBlock: Int { HeadAttentionKernel.rowsPerBlock }

    /// Floats of scratch one work item needs.
    static func scratchCount(_ a: TalkingHeadsAttentionLayer, tokens: Int) -> Int {
        HeadAttentionKernel.scratchCount(heads: a.heads, queries: tokens, keys: tokens, mixing: true)
    }

    static func run(_ a: TalkingHeadsAttentionLayer, parameters p: ParameterStore, qkv: UnsafePointer<Float>,
                    tokens t: Int, rows: Range<Int>, scratch: UnsafeMutablePointer<Float>,
                    out: UnsafeMutablePointer<Float>) {
        let c = a.heads * a.headDim, ld = 3 * c
        let mixing = HeadAttentionKernel.HeadMixing(
            scoresWeight: p[a.mixScores.weight], scoresBias: p[a.mixScores.bias],
            probabilitiesWeight: p[a.mixProbabilities.weight], probabilitiesBias: p[a.mixProbabilities.bias])
        HeadAttentionKernel.run(
            heads: a.heads, keyDim: a.headDim, valueDim: a.headDim, scale: a.scale,
            q: .init(base: qkv, stride: ld), k: .init(base: qkv + c, stride: ld), v: .init(base: qkv + 2 * c, stride: ld),
            queries: t, keys: t, rows: rows, bias: nil, mixing: mixing, scratch: scratch, out: out, outStride: c)
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
