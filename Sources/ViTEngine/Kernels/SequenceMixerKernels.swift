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
