/// Poly-SA of one layer (see `PolySA.swift`) on a `[N, T, 3·C]` qkv projection → `[N, T, C]`;
/// one work item is one head of one image: the modulator `m = LN(Σₙ p₂[n]·(k[n] ⊙ v[n]))` `[d]`,
/// then `out[n] = q[n] ⊙ (p₁[n]·m)` in the head's columns.
struct PolySelfAttention: FamilyOperation {
    let heads: Int
    let headDim: Int
    let tokens: Int
    /// `p₁`, `p₂` `[heads, T]` for this graph's tokens.
    let tokenScales: [Float]
    let modulatorWeights: [Float]
    let normWeight: [Float]
    let normBias: [Float]
    let epsilon: Float

    var kind: String { "poly-sa" }

    /// `k ⊙ v` `[T, d]` and the modulator `[d]`.
    var scratchPerItem: Int { tokens * headDim + headDim }

    /// The modulator's weighted sum and the per-token scaling of it, per head (fvcore's counts of
    /// the two einsums).
    func macsPerImage(input: [Int], output: [Int]) -> Int { heads * 2 * input[1] * headDim }

    func itemsPerImage(input: [Int], output: [Int]) -> Int { heads }

    func run(item h: Int, _ image: FamilyOperationImage) {
        let t = tokens, d = headDim, c = heads * d, stride = 3 * c
        let q = image.x + h * d, k = q + c, v = k + c
        let products = image.scratch, modulator = products + t * d
        for n in 0..<t {
            for i in 0..<d { products[n * d + i] = k[n * stride + i] * v[n * stride + i] }
        }
        tokenScales.withUnsafeBufferPointer { p1 in
            modulatorWeights.withUnsafeBufferPointer { p2 in
                // m = p₂[h]·(k ⊙ v): a [1, T] × [T, d] product.
                BLAS.gemm(m: 1, n: d, k: t, a: p2.baseAddress! + h * t, lda: t, b: products, ldb: d,
                          c: modulator, ldc: d)
                normWeight.withUnsafeBufferPointer { w in
                    normBias.withUnsafeBufferPointer { b in
                        SequenceKernels.layerNorm(x: modulator, rows: 1, channels: d, weight: w.baseAddress!,
                                                  bias: b.baseAddress!, epsilon: epsilon, out: modulator)
                    }
                }
                let o = image.out + h * d
                for n in 0..<t {
                    let scale = p1[h * t + n]
                    for i in 0..<d { o[n * c + i] = q[n * stride + i] * (scale * modulator[i]) }
                }
            }
        }
    }
}
