import CKernels

/// TokenLearner's pooling (see `TokenLearner.swift`) of one image: tokens `[prefix + P, C]` (the
/// input) and their scores `[prefix + P, S]` (the auxiliary value) → `[prefix + S, C]`: the
/// prefix tokens as they are, then for each learned token `s` the patches weighted by
/// `softmax` over the patches of their score `s`.
struct TokenLearnerPooling: FamilyOperation {
    let prefixTokens: Int
    let patches: Int
    let learned: Int
    let channels: Int

    var kind: String { "token learner" }

    /// The transposed scores `[S, P]`.
    var scratchPerItem: Int { learned * patches }

    /// The weighted sums (fvcore's count of `selected @ x`).
    func macsPerImage(input: [Int], output: [Int]) -> Int { learned * patches * channels }

    func itemsPerImage(input: [Int], output: [Int]) -> Int { 1 }

    func run(item: Int, _ image: FamilyOperationImage) {
        let p = patches, s = learned, c = channels, first = prefixTokens
        let scores = image.auxiliary!, weights = image.scratch
        vit_transpose_add(scores + first * s, Int32(p), Int32(s), nil, weights)
        vit_softmax_rows(weights, nil, Int32(s), Int32(p))
        image.out.update(from: image.x, count: first * c)
        BLAS.gemm(m: s, n: c, k: p, a: weights, lda: p, b: image.x + first * c, ldb: c, c: image.out + first * c, ldc: c)
    }
}
