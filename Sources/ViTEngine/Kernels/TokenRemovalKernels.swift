import CKernels

/// EViT's kernels (Liang et al., ICLR 2022, "Not All Patches are What You Need"; the "Which
/// Transformer to Favor" benchmark's `architectures/evit.py`), one image per call.
enum TokenRemovalKernel {
    /// Floats of scratch one ``classAttention(qkv:tokens:heads:headDim:scale:scratch:out:)`` call needs.
    static func classAttentionScratchCount(tokens t: Int) -> Int { t }

    /// `cls_attn`: for every head, the class token's (query 0) softmax attention over all `t`
    /// keys, scores scaled as the attention scales them; the mean over heads of its weights on
    /// tokens 1…t−1 → `out[t − 1]`.
    static func classAttention(qkv: UnsafePointer<Float>, tokens t: Int, heads: Int, headDim: Int, scale: Float,
                               scratch weights: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = heads * headDim
        out.initialize(repeating: 0, count: t - 1)
        for h in 0..<heads {
            let q = qkv + h * headDim, k = q + c
            BLAS.gemm(transposeB: true, m: 1, n: t, k: headDim, alpha: scale, a: q, lda: 3 * c, b: k, ldb: 3 * c,
                      beta: 0, c: weights, ldc: t)
            vit_softmax_rows(weights, nil, 1, Int32(t))
            for j in 1..<t { out[j - 1] += weights[j] }
        }
        for j in 0..<(t - 1) { out[j] /= Float(heads) }
    }

    /// Keeps the class token and the `kept` tokens with the highest scores, in descending order
    /// of score (`torch.topk(…, sorted=True)`; ties: lower index first, a NaN ranks last), and
    /// with `fusesRest` appends `Σ x_i·s_i` over the other tokens in index order (EViT's
    /// inattentive-token fusion). `x` is `[t, c]`, `scores` `[t − 1]`; `ranks` (scratch, `t − 1`)
    /// holds each token's place in that order.
    static func select(x: UnsafePointer<Float>, tokens t: Int, channels c: Int, scores: UnsafePointer<Float>,
                       kept: Int, fusesRest: Bool, ranks: UnsafeMutablePointer<Float>,
                       out: UnsafeMutablePointer<Float>) {
        let others = t - 1
        @inline(__always) func key(_ i: Int) -> Float { scores[i].isNaN ? -.infinity : scores[i] }
        for i in 0..<others {
            let s = key(i)
            var rank = 0
            for j in 0..<others where key(j) > s || (key(j) == s && j < i) { rank += 1 }
            ranks[i] = Float(rank)
        }
        out.update(from: x, count: c)
        let fused = out + (1 + kept) * c
        if fusesRest { fused.initialize(repeating: 0, count: c) }
        for i in 0..<others {
            let rank = Int(ranks[i]), row = x + (1 + i) * c
            if rank < kept {
                (out + (1 + rank) * c).update(from: row, count: c)
            } else if fusesRest {
                let s = scores[i]
                for ch in 0..<c { fused[ch] += row[ch] * s }
            }
        }
    }
}
