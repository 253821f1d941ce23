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
                    head h: Int, keyBias: UnsafePointer<Float>? = nil, scratch scores: UnsafeMutablePointer<Float>,
                    out: UnsafeMutablePointer<Float>) {
        let c = heads * headDim
        let q = qkv + h * headDim, k = q + c, v = k + c
        attend(queries: q, ldq: 3 * c, rows: t, keys: k, ldk: 3 * c, values: v, ldv: 3 * c, keyRows: t,
               headDim: headDim, scale: scale, keyBias: keyBias, scores: scores, out: out + h * headDim, ldOut: c)
    }

    /// One head's `softmax(q·kᵀ·scale + keyBias)·v` for `rows` queries over `keyRows` keys and
    /// values, each matrix read in place with its row stride (shared by every attention variant);
    /// `keyBias` (one value per key, e.g. ToMe's `log(size)`) is added to every row of scores.
    static func attend(queries q: UnsafePointer<Float>, ldq: Int, rows: Int, keys k: UnsafePointer<Float>, ldk: Int,
                       values v: UnsafePointer<Float>, ldv: Int, keyRows: Int, headDim: Int, scale: Float,
                       keyBias: UnsafePointer<Float>? = nil,
                       scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, ldOut: Int) {
        BLAS.gemm(transposeB: true, m: rows, n: keyRows, k: headDim, alpha: scale, a: q, lda: ldq, b: k, ldb: ldk,
                  beta: 0, c: scores, ldc: keyRows)
        if let bias = keyBias {
            for r in 0..<rows {
                let row = scores + r * keyRows
                for j in 0..<keyRows { row[j] += bias[j] }
            }
        }
        vit_softmax_rows(scores, nil, Int32(rows), Int32(keyRows))
        BLAS.gemm(m: rows, n: headDim, k: keyRows, a: scores, lda: keyRows, b: v, ldb: ldv, beta: 0,
                  c: out, ldc: ldOut)
    }
}
