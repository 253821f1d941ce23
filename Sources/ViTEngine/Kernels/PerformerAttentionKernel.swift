import Foundation

/// The Performer's FAVOR+ attention of one layer (see `Performer.swift`) on a `[N, T, 3·C]` qkv
/// projection (q, k, v blocks, heads inside each) → `[N, T, C]`; one work item is one head of
/// one image. With `x̂ = d^-¼·x` and `P` `[m, d]`:
///
/// - `φ(q)ₙⱼ = m^-½·(exp((q̂·Pᵀ)ₙⱼ − |q̂ₙ|²/2 − maxⱼ(q̂·Pᵀ)ₙⱼ) + 10⁻⁴)`;
/// - `φ(k)ₙⱼ` the same with the maximum over every token and feature of the head;
/// - out `= (φ(q)·(φ(k)ᵀ·v)) / (φ(q)·Σₙφ(k)ₙ)`, per query row.
struct PerformerAttention: FamilyOperation {
    let heads: Int
    let headDim: Int
    /// `[m, d]` random features, shared by the heads.
    let projection: [Float]
    let tokens: Int

    /// The reference's `eps` inside the feature map.
    static let featureEpsilon: Float = 1e-4

    var features: Int { projection.count / headDim }

    var kind: String { "performer attention" }

    /// Floats of scratch one item needs: `x̂` `[T, d]`, `φ(q)` and `φ(k)` `[T, m]`, `φ(k)ᵀ·v`
    /// `[m, d]`, `Σφ(k)` `[m]` and the rows' `|x̂|²/2` `[T]`.
    var scratchPerItem: Int {
        let t = tokens, m = features, d = headDim
        return t * d + 2 * t * m + m * d + m + t
    }

    /// The two feature projections, `φ(k)ᵀ·v`, `φ(q)·(·)` and the normalizer, per head.
    func macsPerImage(input: [Int], output: [Int]) -> Int {
        let t = input[1], m = features, d = headDim
        return heads * (2 * t * m * d + 2 * t * m * d + t * m)
    }

    func itemsPerImage(input: [Int], output: [Int]) -> Int { heads }

    func run(item h: Int, _ image: FamilyOperationImage) {
        let t = tokens, m = features, d = headDim, c = heads * d, stride = 3 * c
        let scaled = image.scratch, phiQ = scaled + t * d, phiK = phiQ + t * m
        let context = phiK + t * m, keySum = context + m * d, diagonal = keySum + m
        // The reference's Python scalars, rounded to float as PyTorch applies them to float tensors.
        let normalizer = pow(Double(d), -0.25)
        let scale = Float(normalizer), squareScale = Float(normalizer * normalizer)
        let ratio = Float(pow(Double(m), -0.5)), eps = Self.featureEpsilon
        let q = image.x + h * d, k = q + c, v = k + c
        /// `x̂·Pᵀ` into `dash` `[T, m]` and `|x|²/2·d^-½` per row into `diagonal`.
        func project(_ x: UnsafePointer<Float>, into dash: UnsafeMutablePointer<Float>) {
            for n in 0..<t {
                var squares: Float = 0
                for i in 0..<d {
                    let value = x[n * stride + i]
                    scaled[n * d + i] = scale * value
                    squares += value * value
                }
                diagonal[n] = squares / 2 * squareScale
            }
            projection.withUnsafeBufferPointer { p in
                BLAS.gemm(transposeB: true, m: t, n: m, k: d, a: scaled, lda: d, b: p.baseAddress!, ldb: d,
                          c: dash, ldc: m)
            }
        }
        // Queries: each row's own maximum.
        project(q, into: phiQ)
        for n in 0..<t {
            let row = phiQ + n * m
            var largest = -Float.infinity
            for j in 0..<m { largest = max(largest, row[j]) }
            for j in 0..<m { row[j] = ratio * (Foundation.exp(row[j] - diagonal[n] - largest) + eps) }
        }
        // Keys: the maximum over the whole head.
        project(k, into: phiK)
        var largest = -Float.infinity
        for i in 0..<(t * m) { largest = max(largest, phiK[i]) }
        keySum.initialize(repeating: 0, count: m)
        for n in 0..<t {
            let row = phiK + n * m
            for j in 0..<m {
                row[j] = ratio * (Foundation.exp(row[j] - diagonal[n] - largest) + eps)
                keySum[j] += row[j]
            }
        }
        BLAS.gemm(transposeA: true, m: m, n: d, k: t, a: phiK, lda: m, b: v, ldb: stride, c: context, ldc: d)
        let o = image.out + h * d
        BLAS.gemm(m: t, n: d, k: m, a: phiQ, lda: m, b: context, ldb: d, c: o, ldc: c)
        for n in 0..<t {
            var dot: Float = 0
            for j in 0..<m { dot += phiQ[n * m + j] * keySum[j] }
            let inverse = 1 / dot
            for i in 0..<d { o[n * c + i] *= inverse }
        }
    }
}
