import CKernels

/// Swin's patch merging gather and its LayerNorm in one pass over one channels-last image
/// (timm's `PatchMerging` up to its reduction, which follows as a linear layer).
///
/// timm zero pads `[H, W, C]` to even sides, then `reshape(H/2, 2, W/2, 2, C)
/// .permute(0, 2, 3, 1, 4).flatten`: output pixel `(y, x)` holds the four inputs
/// `(2y + dy, 2x + dx)` in the order `k = 2·dx + dy` (so (0,0), (1,0), (0,1), (1,1)), each `C`
/// wide, and the LayerNorm runs over those `4·C` values. The gather writes each output row once
/// and the norm runs on it in place, so no space-to-depth copy is kept.
enum PatchMergingKernel {
    static func run(x: UnsafePointer<Float>, height: Int, width: Int, channels c: Int,
                    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float,
                    outputRows: Range<Int>, out: UnsafeMutablePointer<Float>) {
        let outWidth = (width + 1) / 2
        for oy in outputRows {
            let row = out + oy * outWidth * 4 * c
            for ox in 0..<outWidth {
                for k in 0..<4 {
                    let (dx, dy) = k.quotientAndRemainder(dividingBy: 2)
                    let sy = 2 * oy + dy, sx = 2 * ox + dx
                    let dst = row + (ox * 4 + k) * c
                    if sy < height, sx < width {
                        dst.update(from: x + (sy * width + sx) * c, count: c)
                    } else {
                        dst.update(repeating: 0, count: c)
                    }
                }
            }
            vit_layer_norm_rows(row, 4 * c, Int32(outWidth), Int32(4 * c), weight, bias, epsilon, row, 4 * c)
        }
    }
}
