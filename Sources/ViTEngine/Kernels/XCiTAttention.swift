import CKernels

/// Cross-covariance attention for one head of one image (heads are the work items): the head's
/// q and k columns L2-normalized over the tokens (as `F.normalize`, norms clamped at 1e-12) into
/// scratch, `A = softmax(q̂ᵀ·k̂ · temperature)` (`headDim × headDim`), and `out_h = v_h · Aᵀ` written
/// into the head's columns. Cost is linear in the tokens.
enum CrossCovarianceAttentionKernel {
    static func scratchCount(_ a: CrossCovarianceAttentionLayer, tokens: Int) -> Int {
        2 * tokens * a.headDim + a.headDim * a.headDim
    }

    static func run(_ a: CrossCovarianceAttentionLayer, parameters p: ParameterStore, qkv: UnsafePointer<Float>,
                    tokens t: Int, head h: Int, scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let d = a.headDim, c = a.heads * d, ld = 3 * c
        let q = scratch, k = q + t * d, attention = k + t * d
        normalizeColumns(qkv + h * d, ld: ld, rows: t, columns: d, into: q)
        normalizeColumns(qkv + c + h * d, ld: ld, rows: t, columns: d, into: k)
        BLAS.gemm(transposeA: true, m: d, n: d, k: t, alpha: p[a.temperature][h], a: q, lda: d, b: k, ldb: d,
                  beta: 0, c: attention, ldc: d)
        vit_softmax_rows(attention, nil, Int32(d), Int32(d))
        BLAS.gemm(transposeB: true, m: t, n: d, k: d, a: qkv + 2 * c + h * d, lda: ld, b: attention, ldb: d,
                  beta: 0, c: out + h * d, ldc: c)
    }

    /// `into[r][j] = x[r][j] / max(‖x[·][j]‖₂, 1e-12)`: each column scaled to unit length over the rows.
    private static func normalizeColumns(_ x: UnsafePointer<Float>, ld: Int, rows: Int, columns: Int,
                                         into y: UnsafeMutablePointer<Float>) {
        var sums = [Float](repeating: 0, count: columns)
        for r in 0..<rows {
            let row = x + r * ld
            for j in 0..<columns { sums[j] += row[j] * row[j] }
        }
        let norms = sums.map { max($0.squareRoot(), 1e-12) }
        for r in 0..<rows {
            let row = x + r * ld, dst = y + r * columns
            for j in 0..<columns { dst[j] = row[j] / norms[j] }
        }
    }
}

/// XCiT's class-attention block for one image (`[1 + T, C]`, class token first) into `out`.
enum XCiTClassBlockKernel {
    static func scratchCount(_ b: XCiTClassBlockLayer, tokens: Int, hidden: Int) -> Int {
        let c = b.attention.heads * b.attention.headDim, rows = tokens + 1
        return rows * c + max(2 * rows * c + 2 * c + rows, hidden)
    }

    static func run(_ b: XCiTClassBlockLayer, parameters p: ParameterStore, x: UnsafePointer<Float>, tokens: Int,
                    scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let a = b.attention, c = a.heads * a.headDim, rows = tokens + 1
        let normed = scratch, work = scratch + rows * c
        SequenceKernels.layerNorm(x: x, rows: rows, channels: c, weight: p[a.norm.weight], bias: p[a.norm.bias],
                                  epsilon: a.norm.epsilon, out: normed)
        let attended = ClassAttentionKernel.attend(a, parameters: p, normed: normed, rows: rows, scratch: work)
        // The class token: x₀ + γ₁·proj(attention) (γ₁ folded into proj); the patches: x + γ₁·norm1(x).
        ConvolutionKernels.pointwise(x: attended, rows: 1, cin: c, weight: p[a.proj.weight], bias: p[a.proj.bias],
                                     cout: c, activation: .identity, residual: x, out: out)
        let gamma = p[b.layerScale1]
        for i in c..<(rows * c) { out[i] = x[i] + gamma[i % c] * normed[i] }
        SequenceKernels.layerNorm(x: out, rows: b.tokensNorm ? rows : 1, channels: c, weight: p[b.norm2.weight],
                                  bias: p[b.norm2.bias], epsilon: b.norm2.epsilon, out: out)
        // cls += γ₂·fc2(gelu(fc1(cls))), γ₂ folded into fc2, in place on row 0.
        let hidden = work
        ConvolutionKernels.pointwise(x: out, rows: 1, cin: c, weight: p[b.mlp.fc1.weight], bias: p[b.mlp.fc1.bias],
                                     cout: b.mlp.fc1.outFeatures, activation: .gelu, residual: nil, out: hidden)
        ConvolutionKernels.pointwise(x: hidden, rows: 1, cin: b.mlp.fc1.outFeatures, weight: p[b.mlp.fc2.weight],
                                     bias: p[b.mlp.fc2.bias], cout: c, activation: .identity, residual: out, out: out)
    }
}
