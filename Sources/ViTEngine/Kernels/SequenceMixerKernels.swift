import CKernels
import Foundation

/// Kernels of the ``SequenceMixer`` token mixers, one image (and, for Linformer, one head) per
/// call, so that the executor's work items never split a reduction.

/// Linformer attention of one image and one head. Head `h` reads its column blocks of the
/// `[T, 3·C]` q|k|v projection in place; its keys and values are projected along the tokens
/// (`Eᵀ·K_h`, `Fᵀ·V_h`: `[length, headDim]`, the benchmark's `einsum("bnd,nk->bkd")` restricted
/// to the head's columns), then ``SelfAttentionKernel/attend`` writes the head's output columns.
enum LinformerKernel {
    /// Floats of scratch one call needs: projected keys and values, and the scores.
    static func scratchCount(tokens: Int, length: Int, headDim: Int) -> Int {
        2 * length * headDim + tokens * length
    }

    static func run(_ l: LinformerTables, qkv: UnsafePointer<Float>, tokens t: Int, head h: Int,
                    scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = l.heads * l.headDim, d = l.headDim, n = l.length
        let q = qkv + h * d, k = q + c, v = k + c
        let keys = scratch, values = scratch + n * d, scores = values + n * d
        l.projections.withUnsafeBufferPointer { p in
            let e = p.baseAddress!, f = e + t * n
            BLAS.gemm(transposeA: true, m: n, n: d, k: t, a: e, lda: n, b: k, ldb: 3 * c, c: keys, ldc: d)
            BLAS.gemm(transposeA: true, m: n, n: d, k: t, a: f, lda: n, b: v, ldb: 3 * c, c: values, ldc: d)
        }
        SelfAttentionKernel.attend(queries: q, ldq: 3 * c, rows: t, keys: keys, ldk: d, values: values, ldv: d,
                                   keyRows: n, headDim: d, scale: l.scale, scores: scores,
                                   out: out + h * d, ldOut: c)
    }
}

/// The Linear Transformer's attention (Katharopoulos et al., ICML 2020) of one image and one
/// head: `φ(x) = elu(x) + 1` makes every score positive, so `softmax(q·kᵀ)·v` can be replaced by
/// `φ(q)·(φ(K)ᵀ·V) / (φ(q)·Σₙφ(kₙ) + ε)` and the `[T, T]` score matrix never exists: the head
/// costs `2·T·d²` instead of `2·T²·d`.
enum LinearAttentionKernel {
    /// Floats of scratch one call needs: `φ(Q)`, `φ(K)`, `φ(K)ᵀ·V` and `Σφ(K)`.
    static func scratchCount(tokens: Int, headDim d: Int) -> Int { 2 * tokens * d + d * d + d }

    static func run(qkv: UnsafePointer<Float>, tokens t: Int, heads: Int, headDim d: Int, head h: Int,
                    epsilon: Float, scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = heads * d
        let q = qkv + h * d, k = q + c, v = k + c
        let phiQ = scratch, phiK = phiQ + t * d, kv = phiK + t * d, keySum = kv + d * d
        keySum.initialize(repeating: 0, count: d)
        for n in 0..<t {
            for i in 0..<d {
                phiQ[n * d + i] = feature(q[n * 3 * c + i])
                let key = feature(k[n * 3 * c + i])
                phiK[n * d + i] = key
                keySum[i] += key
            }
        }
        // kv[i, m] = Σₙ φ(K)[n, i]·V[n, m]; the head's output columns = φ(Q)·kv, then each row scaled.
        BLAS.gemm(transposeA: true, m: d, n: d, k: t, a: phiK, lda: d, b: v, ldb: 3 * c, c: kv, ldc: d)
        let o = out + h * d
        BLAS.gemm(m: t, n: d, k: d, a: phiQ, lda: d, b: kv, ldb: d, c: o, ldc: c)
        for n in 0..<t {
            var normalizer: Float = 0
            for i in 0..<d { normalizer += phiQ[n * d + i] * keySum[i] }
            let z = 1 / (normalizer + epsilon)
            for m in 0..<d { o[n * c + m] *= z }
        }
    }

    /// `elu(x) + 1`, with `elu(x) = expm1(x)` below zero as PyTorch computes it.
    @inline(__always) private static func feature(_ x: Float) -> Float {
        x > 0 ? x + 1 : Foundation.expm1(x) + 1
    }
}

/// The factorized dense Synthesizer's attention of one image and one head: `a = x·f_aᵀ`
/// (`[T, f]`) and `b = x·f_bᵀ` (`[T, L/f]`) for the head's rows of the maps, scores
/// `a[n, j / (L/f)] · b[n, j / f]` for the T keys, softmax, and the scores times the head's
/// columns of the values, written into its columns of the output.
enum SynthesizerKernel {
    /// Floats of scratch one call needs: `a`, `b` and the scores.
    static func scratchCount(tokens t: Int, _ s: SynthesizerTables) -> Int {
        t * s.factor + t * (s.maxLength / s.factor) + t * t
    }

    static func run(_ s: SynthesizerTables, x: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens t: Int,
                    head h: Int, scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let f = s.factor, r = s.maxLength / s.factor, c = s.heads * s.headDim, d = s.headDim
        let a = scratch, b = a + t * f, scores = b + t * r
        s.aWeight.withUnsafeBufferPointer { w in
            s.aBias.withUnsafeBufferPointer { bias in
                for n in 0..<t { (a + n * f).update(from: bias.baseAddress! + h * f, count: f) }
                BLAS.gemm(transposeB: true, m: t, n: f, k: c, a: x, lda: c, b: w.baseAddress! + h * f * c, ldb: c,
                          beta: 1, c: a, ldc: f)
            }
        }
        s.bWeight.withUnsafeBufferPointer { w in
            s.bBias.withUnsafeBufferPointer { bias in
                for n in 0..<t { (b + n * r).update(from: bias.baseAddress! + h * r, count: r) }
                BLAS.gemm(transposeB: true, m: t, n: r, k: c, a: x, lda: c, b: w.baseAddress! + h * r * c, ldb: c,
                          beta: 1, c: b, ldc: r)
            }
        }
        for n in 0..<t {
            let row = scores + n * t
            for j in 0..<t { row[j] = a[n * f + j / r] * b[n * r + j / f] }
        }
        vit_softmax_rows(scores, nil, Int32(t), Int32(t))
        BLAS.gemm(m: t, n: d, k: t, a: scores, lda: t, b: values + h * d, ldb: c, c: out + h * d, ldc: c)
    }
}

/// FNet's mixing of one image: `Re(F_T·X·F_C)/(T·C) = cos_T·(X·cos_C) − sin_T·(X·sin_C)` (the
/// `1/T`, `1/C` already in the tables), added to the residual.
enum FourierKernel {
    /// Floats of scratch one call needs: `X·cos_C` and `X·sin_C`.
    static func scratchCount(tokens: Int, channels: Int) -> Int { 2 * tokens * channels }

    static func run(_ f: FourierTables, x: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
                    scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let t = f.tokens, c = f.channels
        let real = scratch, imaginary = scratch + t * c
        f.channelCos.withUnsafeBufferPointer { cosC in
            BLAS.gemm(m: t, n: c, k: c, a: x, lda: c, b: cosC.baseAddress!, ldb: c, c: real, ldc: c)
        }
        f.channelSin.withUnsafeBufferPointer { sinC in
            BLAS.gemm(m: t, n: c, k: c, a: x, lda: c, b: sinC.baseAddress!, ldb: c, c: imaginary, ldc: c)
        }
        // The residual may share the output's memory (the planner's in-place add).
        if let r = residual, r != UnsafePointer(out) { out.update(from: r, count: t * c) }
        let beta: Float = residual == nil ? 0 : 1
        f.tokenCos.withUnsafeBufferPointer { cosT in
            BLAS.gemm(m: t, n: c, k: t, a: cosT.baseAddress!, lda: t, b: real, ldb: c, beta: beta, c: out, ldc: c)
        }
        f.tokenSin.withUnsafeBufferPointer { sinT in
            BLAS.gemm(m: t, n: c, k: t, alpha: -1, a: sinT.baseAddress!, lda: t, b: imaginary, ldb: c, beta: 1,
                      c: out, ldc: c)
        }
    }
}
