import CKernels

/// Kernels on token sequences (`[T, C]` per image, tokens as rows): the pieces every
/// transformer shares besides its linear layers (which run on the 1×1 conv GEMM).
enum SequenceKernels {
    /// Token embedding of one image: `out[0..<p] = addend[0..<p]` (the prefix tokens),
    /// `out[p + i] = patches[i] + addend[p + i]`.
    static func embed(patches: UnsafePointer<Float>, _ e: TokenEmbedding, channels: Int,
                      out: UnsafeMutablePointer<Float>) {
        e.addend.withUnsafeBufferPointer { addend in
            let prefix = e.prefixCount * channels
            out.update(from: addend.baseAddress!, count: prefix)
            for i in prefix..<addend.count { out[i] = patches[i - prefix] + addend[i] }
        }
    }

    /// LayerNorm of `rows` rows of `channels` floats.
    static func layerNorm(x: UnsafePointer<Float>, rows: Int, channels: Int, weight: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>, epsilon: Float, out: UnsafeMutablePointer<Float>) {
        vit_layer_norm_rows(x, channels, Int32(rows), Int32(channels), weight, bias, epsilon, out, channels)
    }

    /// One image's `[tokens, C]` sequence reduced to `[C]`.
    static func pool(x: UnsafePointer<Float>, tokens: Int, channels: Int, _ pool: TokenPool,
                     out: UnsafeMutablePointer<Float>) {
        switch pool {
        case .token(let index):
            out.update(from: x + index * channels, count: channels)
        case .mean(let skipping):
            vit_column_mean(x + skipping * channels, Int32(tokens - skipping), Int32(channels), out)
        }
    }
}

/// Multi-head self-attention of one image, one head per call (heads are the work items).
///
/// The qkv projection's output `[T, 3·C]` holds q, k and v side by side, each `heads × headDim`
/// wide (timm's `reshape(B, N, 3, heads, headDim)`), so head `h` reads strided column blocks in
/// place: no split, no transpose. `scores = q·kᵀ·scale` (BLAS applies the scale to the product,
/// as PyTorch's attention scales the scores), softmax per row, and `scores·v` is written
/// straight into the head's columns of the `[T, C]` output.
enum SelfAttentionKernel {
    /// Floats of scratch one call needs.
    static func scratchCount(tokens: Int) -> Int { tokens * tokens }

    static func run(qkv: UnsafePointer<Float>, tokens t: Int, heads: Int, headDim: Int, scale: Float,
                    head h: Int, scratch scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = heads * headDim
        let q = qkv + h * headDim, k = q + c, v = k + c
        BLAS.gemm(transposeB: true, m: t, n: t, k: headDim, alpha: scale, a: q, lda: 3 * c, b: k, ldb: 3 * c,
                  beta: 0, c: scores, ldc: t)
        vit_softmax_rows(scores, nil, Int32(t), Int32(t))
        BLAS.gemm(m: t, n: headDim, k: t, a: scores, lda: t, b: v, ldb: 3 * c, beta: 0,
                  c: out + h * headDim, ldc: c)
    }
}
