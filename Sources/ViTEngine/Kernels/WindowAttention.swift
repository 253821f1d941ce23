import CKernels

/// Swin's (shifted) window multi-head self-attention for one channels-last image, one window and
/// one head per call (they are independent: the executor's work items).
///
/// Follows timm's `SwinTransformerBlock._attn`: the qkv projection `[H, W, 3·C]` is cyclically
/// shifted by `-shift`, zero padded at the bottom and right up to whole windows, cut into
/// `window × window` windows, attended with `softmax(q·scale·kᵀ + bias + mask)·v`, merged,
/// cropped and shifted back. Here the shift, the padding, the partition and the merge are folded
/// into the kernel's reads and writes: a window's tokens are gathered from where the shift puts
/// them, and its outputs are written straight back to the tokens' own positions, so the graph
/// has no partition or roll pass. Padding tokens are zeros before the qkv projection, so their
/// q, k and v are the projection's bias (they take part as keys, as in timm, and are never
/// written).
///
/// The mask (timm's `attn_mask`, −100 between tokens of different shifted regions) is derived
/// from token positions: in the shifted-and-padded frame of size `Hp`, a row `y` lies in region
/// 0 below `Hp − window`, 1 below `Hp − shift`, else 2 (one region when that axis is not shifted).
///
/// The two products go through OpenBLAS from gathered `[T, headDim]` blocks: the packed GEMM
/// (with kᵀ and v gathered straight into its panels and the bias as its residual) measured 1.4×
/// slower on these 49×49×32 products (swin-t, batch 1, one thread: 15.0 vs 10.6 ms per run).
enum WindowAttentionKernel {
    /// Floats of scratch one call needs: q, k, v and the output of one head `[T, headDim]`, the
    /// scores `[T, T]` and the token regions `[T]`.
    static func scratchCount(_ layer: WindowAttentionLayer) -> Int {
        let t = layer.window * layer.window
        return 4 * t * layer.headDim + t * t + t
    }

    /// Windows of one image of the given size: rows and columns of the padded grid.
    static func windowGrid(_ layer: WindowAttentionLayer, height: Int, width: Int) -> (rows: Int, columns: Int) {
        ((height + layer.window - 1) / layer.window, (width + layer.window - 1) / layer.window)
    }

    /// Attention of head `head` in window `index` (row-major over the padded grid of windows).
    static func run(_ layer: WindowAttentionLayer, parameters p: ParameterStore, qkv: UnsafePointer<Float>,
                    height: Int, width: Int, index: Int, head h: Int,
                    scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let ws = layer.window, t = ws * ws, hd = layer.headDim, c = layer.heads * hd
        let grid = windowGrid(layer, height: height, width: width)
        let (wy, wx) = index.quotientAndRemainder(dividingBy: grid.columns)
        let q = scratch, k = q + t * hd, v = k + t * hd, o = v + t * hd
        let scores = o + t * hd, region = scores + t * t

        // Gather: token i of the window sits at (sy, sx) of the shifted, padded frame; when that
        // is inside the image it comes from ((sy + shift) mod H, (sx + shift) mod W).
        let qkvBias = p[layer.qkvBias]
        for i in 0..<t {
            let sy = wy * ws + i / ws, sx = wx * ws + i % ws
            let row: UnsafePointer<Float>
            if sy < height, sx < width {
                let y = (sy + layer.shiftY) % height, x = (sx + layer.shiftX) % width
                row = qkv + (y * width + x) * 3 * c
            } else {
                row = qkvBias
            }
            (q + i * hd).update(from: row + h * hd, count: hd)
            (k + i * hd).update(from: row + c + h * hd, count: hd)
            (v + i * hd).update(from: row + 2 * c + h * hd, count: hd)
            region[i] = Float(3 * regionOf(sy, size: grid.rows * ws, window: ws, shift: layer.shiftY)
                              + regionOf(sx, size: grid.columns * ws, window: ws, shift: layer.shiftX))
        }

        BLAS.gemm(transposeB: true, m: t, n: t, k: hd, alpha: layer.scale, a: q, lda: hd, b: k, ldb: hd,
                  beta: 0, c: scores, ldc: t)
        let bias = p[layer.positionBias] + h * t * t
        let masked = (1..<t).contains { region[$0] != region[0] }
        if masked {
            // timm adds the bias, then the mask, then takes the softmax.
            for i in 0..<t {
                for j in 0..<t {
                    let s = scores[i * t + j] + bias[i * t + j]
                    scores[i * t + j] = region[i] == region[j] ? s : s + maskValue
                }
            }
            vit_softmax_rows(scores, nil, Int32(t), Int32(t))
        } else {
            vit_softmax_rows(scores, bias, Int32(t), Int32(t))
        }
        BLAS.gemm(m: t, n: hd, k: t, a: scores, lda: t, b: v, ldb: hd, beta: 0, c: o, ldc: hd)

        // Merge: each token inside the image writes its head's columns at its own position.
        for i in 0..<t {
            let sy = wy * ws + i / ws, sx = wx * ws + i % ws
            guard sy < height, sx < width else { continue }
            let y = (sy + layer.shiftY) % height, x = (sx + layer.shiftX) % width
            (out + (y * width + x) * c + h * hd).update(from: o + i * hd, count: hd)
        }
    }

    /// timm's mask value between tokens of different regions (not −∞: a row is never all masked).
    static let maskValue: Float = -100

    /// The region of coordinate `s` of the shifted, padded frame of `size` along one axis.
    @inline(__always)
    static func regionOf(_ s: Int, size: Int, window: Int, shift: Int) -> Int {
        guard shift > 0 else { return 0 }
        return s < size - window ? 0 : (s < size - shift ? 1 : 2)
    }
}
