/// PyTorch's `F.interpolate` without antialiasing and with `align_corners=False`, the way the
/// "Which Transformer to Favor" benchmark resizes its resolution-dependent tables
/// (`ResizingInterface.set_image_res`: bicubic position embeddings; Linformer's bilinear key/value
/// projections; the Synthesizer's linear weight rows). Unlike the antialiased filter of
/// ``ResampleFilter`` (PIL's, which timm uses), the taps are a fixed 2 (linear) or 4 (cubic) per
/// output whatever the scale, and indices past an edge are clamped to it.
enum Interpolation: Sendable {
    /// `mode='linear'` / `'bilinear'` along each axis.
    case linear
    /// `mode='bicubic'`: Keys' cubic convolution with A = −0.75.
    case cubic

    /// One output position: input indices (possibly repeated at an edge) and their weights.
    typealias Taps = [(index: Int, weight: Double)]

    /// The taps of every output position for `inSize → outSize` (ATen's `upsample_*` kernels:
    /// source coordinate `(i + 0.5) · in/out − 0.5`, clamped at 0 for linear only).
    func taps(inSize: Int, outSize: Int) -> [Taps] {
        let scale = Double(inSize) / Double(outSize)
        func clamp(_ i: Int) -> Int { min(max(i, 0), inSize - 1) }
        return (0..<outSize).map { o in
            let source = scale * (Double(o) + 0.5) - 0.5
            switch self {
            case .linear:
                let real = max(source, 0)
                let i0 = Int(real)
                let i1 = i0 + (i0 < inSize - 1 ? 1 : 0)
                let l1 = real - Double(i0)
                return [(i0, 1 - l1), (i1, l1)]
            case .cubic:
                // ATen's guard_index_and_lambda: the index never past the last input.
                let floor = min(source.rounded(.down), Double(inSize - 1))
                let t = min(max(source - floor, 0), 1)
                let a = -0.75
                func near(_ x: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }
                func far(_ x: Double) -> Double { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
                let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
                return (0..<4).map { (clamp(Int(floor) - 1 + $0), weights[$0]) }
            }
        }
    }

    /// Resizes a `[h0·w0, C]` row-major grid of `C`-channel rows to `[h·w, C]`, separably in double
    /// precision (rows of the grid along `height`, then along `width`).
    func resample(_ grid: [Float], from old: (height: Int, width: Int), to new: (height: Int, width: Int),
                  channels c: Int) -> [Float] {
        Self.resample(grid, from: old, to: new, channels: c,
                      down: taps(inSize: old.height, outSize: new.height),
                      across: taps(inSize: old.width, outSize: new.width))
    }

    /// The separable pass every resampler of tables shares: `across` taps along the width, then
    /// `down` taps along the height.
    static func resample(_ grid: [Float], from old: (height: Int, width: Int), to new: (height: Int, width: Int),
                         channels c: Int, down: [Taps], across: [Taps]) -> [Float] {
        var wide = [Double](repeating: 0, count: old.height * new.width * c)
        for y in 0..<old.height {
            for (x, taps) in across.enumerated() {
                let o = (y * new.width + x) * c
                for (index, w) in taps {
                    let i = (y * old.width + index) * c
                    for ch in 0..<c { wide[o + ch] += w * Double(grid[i + ch]) }
                }
            }
        }
        var out = [Float](repeating: 0, count: new.height * new.width * c)
        var row = [Double](repeating: 0, count: new.width * c)
        for (y, taps) in down.enumerated() {
            for i in row.indices { row[i] = 0 }
            for (index, w) in taps {
                let src = index * new.width * c
                for i in row.indices { row[i] += w * wide[src + i] }
            }
            for i in row.indices { out[y * new.width * c + i] = Float(row[i]) }
        }
        return out
    }
}
