/// Absolute position embeddings on a grid of patches, resized for other input sizes as timm's
/// `resample_abs_pos_embed` does: `F.interpolate(mode='bicubic', antialias=True,
/// align_corners=False)` over the grid, prefix-token rows untouched.
enum PositionEmbedding {
    /// `[h0·w0, C]` row-major grid → `[h·w, C]`. Separable (rows, then columns) in double
    /// precision, with the antialiased bicubic weights PyTorch uses (PIL's, a = −0.5).
    static func resample(_ grid: [Float], from old: (height: Int, width: Int), to new: (height: Int, width: Int),
                         channels c: Int) -> [Float] {
        if old == new { return grid }
        let filter = ResampleFilter.bicubic
        func taps(_ inSize: Int, _ outSize: Int) -> [Interpolation.Taps] {
            filter.taps(inSize: inSize, outSize: outSize, positions: 0..<outSize).map { t in
                t.weights.enumerated().map { (t.first + $0.offset, $0.element) }
            }
        }
        return Interpolation.resample(grid, from: old, to: new, channels: c, down: taps(old.height, new.height),
                                      across: taps(old.width, new.width))
    }
}
