import COpenBLAS

/// The one door to OpenBLAS: every matrix product of the engine goes through here.
enum BLAS {
    /// Row-major `C = alpha · op(A) · op(B) + beta · C` with `op(A)` of shape `m×k` and `op(B)` `k×n`.
    @inline(__always)
    static func gemm(transposeA: Bool = false, transposeB: Bool = false,
                     m: Int, n: Int, k: Int,
                     alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0,
                     c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// Row-major `y = alpha · A · x + beta · y` with `A` of shape `m×n` (`n×m` transposed).
    @inline(__always)
    static func gemv(transpose: Bool = false, m: Int, n: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
                     beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, blasint(m), blasint(n),
                    alpha, a, blasint(lda), x, 1, beta, y, 1)
    }
}
