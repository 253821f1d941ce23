import CKernels
import Foundation

/// The Nyströmformer's attention of one layer (see `Nystromformer.swift`) on a `[N, T, 3·C]` qkv
/// projection (q, k, v blocks, heads inside each, as timm's) → `[N, T, C]`. One work item is one
/// head of one image:
///
/// 1. `q ← q/√d`; the landmarks `q̃`, `k̃` `[L, d]`: the means of the token segments;
/// 2. `A = softmax(q·k̃ᵀ)` `[T, L]`, `B = softmax(q̃·k̃ᵀ)` `[L, L]`, `C = softmax(q̃·kᵀ)` `[L, T]`;
/// 3. `Z ≈ pinv(B)`: `Z₀ = Bᵀ / maxⱼ Σᵢ Bᵢⱼ`, then six times
///    `Z ← ¼·Z·(13I − BZ·(15I − BZ·(7I − BZ)))` (the benchmark's `iterative_inv`, `init_option="exact"`);
/// 4. `(A·Z)·(C·v)` into the head's columns of the output.
struct NystromAttention: FamilyOperation {
    let heads: Int
    let headDim: Int
    let landmarks: Int
    /// The segments' first tokens and lengths for this graph's `T` tokens.
    let segmentStarts: [Int]
    let segmentLengths: [Int]
    let tokens: Int

    /// The benchmark's `iterative_inv` iterations.
    static let inverseIterations = 6

    init(heads: Int, headDim: Int, landmarks l: Int, tokens t: Int) {
        precondition(t >= l, "the Nyströmformer needs at least as many tokens as landmarks")
        self.heads = heads
        self.headDim = headDim
        landmarks = l
        tokens = t
        let short = t / l, shortCount = (short + 1) * l - t
        segmentLengths = (0..<l).map { $0 < shortCount ? short : short + 1 }
        var start = 0
        segmentStarts = segmentLengths.map { length in
            defer { start += length }
            return start
        }
    }

    var kind: String { "nyström attention" }

    /// Floats of scratch one item needs: the scaled queries, both landmark sets, the three
    /// softmax kernels and `A·Z`, `B` and the pseudo-inverse's four `[L, L]` matrices, and `C·v`.
    var scratchPerItem: Int {
        let t = tokens, l = landmarks, d = headDim
        return t * d + 2 * l * d + 2 * t * l + l * t + 5 * l * l + l * d
    }

    /// The three score products, the pseudo-inverse's four `[L, L]` products per iteration, and
    /// the two products with the values, per head.
    func macsPerImage(input: [Int], output: [Int]) -> Int {
        let t = input[1], l = landmarks, d = headDim
        let scores = 2 * t * l * d + l * l * d
        let inverse = Self.inverseIterations * 4 * l * l * l
        let values = t * l * l + l * t * d + t * l * d
        return heads * (scores + inverse + values)
    }

    func itemsPerImage(input: [Int], output: [Int]) -> Int { heads }

    func run(item h: Int, _ image: FamilyOperationImage) {
        let t = tokens, l = landmarks, d = headDim, c = heads * d, stride = 3 * c
        let q = image.scratch, qLandmarks = q + t * d, kLandmarks = qLandmarks + l * d
        let a = kLandmarks + l * d, az = a + t * l, cm = az + t * l
        let b = cm + l * t, z = b + l * l, bz = z + l * l, first = bz + l * l, second = first + l * l
        let cv = second + l * l
        let keys = image.x + c + h * d, values = image.x + 2 * c + h * d
        // Scaled queries, as the benchmark's in-place `q /= scale` leaves them.
        let scale = Float(d).squareRoot()
        for n in 0..<t {
            for i in 0..<d { q[n * d + i] = image.x[n * stride + h * d + i] / scale }
        }
        for s in 0..<l {
            let start = segmentStarts[s], count = segmentLengths[s]
            for i in 0..<d {
                var qs: Float = 0, ks: Float = 0
                for n in start..<(start + count) {
                    qs += q[n * d + i]
                    ks += keys[n * stride + i]
                }
                qLandmarks[s * d + i] = qs / Float(count)
                kLandmarks[s * d + i] = ks / Float(count)
            }
        }
        BLAS.gemm(transposeB: true, m: t, n: l, k: d, a: q, lda: d, b: kLandmarks, ldb: d, c: a, ldc: l)
        vit_softmax_rows(a, nil, Int32(t), Int32(l))
        BLAS.gemm(transposeB: true, m: l, n: l, k: d, a: qLandmarks, lda: d, b: kLandmarks, ldb: d, c: b, ldc: l)
        vit_softmax_rows(b, nil, Int32(l), Int32(l))
        BLAS.gemm(transposeB: true, m: l, n: t, k: d, a: qLandmarks, lda: d, b: keys, ldb: stride, c: cm, ldc: t)
        vit_softmax_rows(cm, nil, Int32(l), Int32(t))
        let inverse = pseudoInverse(b, z: z, product: bz, first: first, second: second)
        BLAS.gemm(m: t, n: l, k: l, a: a, lda: l, b: inverse, ldb: l, c: az, ldc: l)
        BLAS.gemm(m: l, n: d, k: t, a: cm, lda: t, b: values, ldb: stride, c: cv, ldc: d)
        BLAS.gemm(m: t, n: d, k: l, a: az, lda: l, b: cv, ldb: d, c: image.out + h * d, ldc: c)
    }

    /// The benchmark's `iterative_inv` of `b` `[L, L]`, using `z`, `product`, `first` and
    /// `second` (`[L, L]` each) as scratch; returns where the result is (`z` or `second`).
    private func pseudoInverse(_ b: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
                               product: UnsafeMutablePointer<Float>, first: UnsafeMutablePointer<Float>,
                               second: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let l = landmarks
        // Z₀ = Bᵀ / ‖B‖₁ (the largest column sum).
        var largest = -Float.infinity
        for j in 0..<l {
            var sum: Float = 0
            for i in 0..<l { sum += b[i * l + j] }
            largest = max(largest, sum)
        }
        for i in 0..<l {
            for j in 0..<l { z[i * l + j] = b[j * l + i] / largest }
        }
        /// `m ← k·I − m`.
        func fromIdentity(_ k: Float, _ m: UnsafeMutablePointer<Float>) {
            for i in 0..<(l * l) { m[i] = -m[i] }
            for i in 0..<l { m[i * l + i] += k }
        }
        var current = z, spare = second
        for _ in 0..<Self.inverseIterations {
            BLAS.gemm(m: l, n: l, k: l, a: b, lda: l, b: current, ldb: l, c: product, ldc: l)  // BZ
            first.update(from: product, count: l * l)
            fromIdentity(7, first)
            BLAS.gemm(m: l, n: l, k: l, a: product, lda: l, b: first, ldb: l, c: spare, ldc: l)
            fromIdentity(15, spare)
            BLAS.gemm(m: l, n: l, k: l, a: product, lda: l, b: spare, ldb: l, c: first, ldc: l)
            fromIdentity(13, first)
            BLAS.gemm(m: l, n: l, k: l, alpha: 0.25, a: current, lda: l, b: first, ldb: l, c: spare, ldc: l)
            swap(&current, &spare)
        }
        return current
    }
}

/// The values of a `[N, T, 3·C]` qkv projection added to the input of the same shape as the
/// output `[N, T, C]` (the Nyströmformer's `x = v + proj(·)`): one image per work item.
struct QKVValuesAdded: FamilyOperation {
    var kind: String { "nyström attention" }
    func macsPerImage(input: [Int], output: [Int]) -> Int { 0 }
    func itemsPerImage(input: [Int], output: [Int]) -> Int { 1 }

    func run(item: Int, _ image: FamilyOperationImage) {
        let t = image.outputShape[1], c = image.outputShape[2]
        let residual = image.residual!
        for n in 0..<t {
            let v = image.x + n * 3 * c + 2 * c, r = residual + n * c, o = image.out + n * c
            for i in 0..<c { o[i] = r[i] + v[i] }
        }
    }
}
