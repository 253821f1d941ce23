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
        let across = filter.taps(inSize: old.width, outSize: new.width, positions: 0..<new.width)
        let down = filter.taps(inSize: old.height, outSize: new.height, positions: 0..<new.height)
        // Horizontal pass: [h0, w, C].
        var wide = [Double](repeating: 0, count: old.height * new.width * c)
        for y in 0..<old.height {
            for (x, t) in across.enumerated() {
                let o = (y * new.width + x) * c
                for (j, w) in t.weights.enumerated() {
                    let i = (y * old.width + t.first + j) * c
                    for ch in 0..<c { wide[o + ch] += w * Double(grid[i + ch]) }
                }
            }
        }
        // Vertical pass: [h, w, C].
        var out = [Float](repeating: 0, count: new.height * new.width * c)
        var row = [Double](repeating: 0, count: new.width * c)
        for (y, t) in down.enumerated() {
            for i in row.indices { row[i] = 0 }
            for (j, w) in t.weights.enumerated() {
                let src = (t.first + j) * new.width * c
                for i in row.indices { row[i] += w * wide[src + i] }
            }
            for i in row.indices { out[y * new.width * c + i] = Float(row[i]) }
        }
        return out
    }
}
