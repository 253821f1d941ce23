import Foundation

/// GFNet's global filter for one graph (see `GFNet.swift`): on `[N, h·w, C]` tokens of a square
/// `h × h` grid, per channel, `irfft2(rfft2(x, norm="ortho") ⊙ W, norm="ortho")` over the grid,
/// as dense real DFT products:
///
/// 1. each grid row → its `f = h/2 + 1` frequencies along the width, real and imaginary parts
///    (one GEMM per row with `[cos; −sin]`);
/// 2. the complex DFT along the height (four GEMMs over all rows at once);
/// 3. the product with the filter (with both transforms' `1/√(h·w)` folded in);
/// 4. the inverse complex DFT along the height (four GEMMs);
/// 5. each row back to `h` real values (one GEMM per row): `Σ α_k (Re·cos − Im·sin)`, with
///    `α = 1` at the zero and Nyquist frequencies and 2 between, the imaginary parts of those two
///    ignored, as `irfft` (pocketfft's c2r) ignores them.
///
/// Channels are independent, so the work is split into blocks of ``channelBlock`` channels: every
/// output is computed by the same products whatever the batch or thread count. A residual, when
/// the node has one, is added by the last products (GFNet's blocks have none around the filter;
/// `GlobalFilterTests` checks it).
struct GlobalFilter: FamilyOperation {
    /// The grid's side `h` (= `w`) and its frequencies along the width, `f = h/2 + 1`.
    let side: Int
    let frequencies: Int
    let channels: Int
    /// `[2f, h]`: `cos(2π·k·x/h)` rows, then `−sin(2π·k·x/h)` rows.
    let rowForward: [Float]
    /// `[h, 2f]`: `α_k·cos(2π·k·x/h)` columns, then `−α_k·sin(2π·k·x/h)` columns.
    let rowInverse: [Float]
    /// `[h, h]` `cos(2π·i·j/h)` and `sin(2π·i·j/h)`.
    let cosine: [Float]
    let sine: [Float]
    /// `[h][2][f][C]`: the filter's real, then imaginary part for each frequency row, times
    /// `1/(h·w)` (both transforms' orthonormal scaling).
    let weight: [Float]

    /// Channels per work item.
    static let channelBlock = 64

    /// The filter of a block whose `complex_weight` `[t, t/2 + 1, C, 2]` was learned for a
    /// `trainGrid`-sided grid, for a `grid`-sided one: resized bilinearly as the benchmark's
    /// `GlobalFilter.reshape` does when the grid differs.
    init(weight raw: [Float], trainGrid t: Int, grid h: Int, channels c: Int) {
        side = h
        frequencies = h / 2 + 1
        channels = c
        let f = frequencies, tf = t / 2 + 1
        var planes = [[Float]](repeating: [Float](repeating: 0, count: t * tf * c), count: 2)
        for i in 0..<(t * tf * c) {
            planes[0][i] = raw[2 * i]
            planes[1][i] = raw[2 * i + 1]
        }
        if h != t {
            planes = planes.map { Interpolation.linear.resample($0, from: (t, tf), to: (h, f), channels: c) }
        }
        let scale = 1 / Float(h * h)
        var w = [Float](repeating: 0, count: h * 2 * f * c)
        for row in 0..<h {
            for part in 0..<2 {
                for i in 0..<(f * c) { w[(row * 2 + part) * f * c + i] = planes[part][row * f * c + i] * scale }
            }
        }
        weight = w
        // Angles reduced mod h in integers, so the doubles stay exact.
        func angle(_ i: Int, _ j: Int) -> Double { 2 * Double.pi * Double((i * j) % h) / Double(h) }
        var forward = [Float](repeating: 0, count: 2 * f * h), inverse = forward
        for k in 0..<f {
            let alpha: Double = k == 0 || 2 * k == h ? 1 : 2
            for x in 0..<h {
                forward[k * h + x] = Float(cos(angle(k, x)))
                forward[(f + k) * h + x] = Float(-sin(angle(k, x)))
                inverse[x * 2 * f + k] = Float(alpha * cos(angle(k, x)))
                // irfft ignores the imaginary parts at the zero and Nyquist frequencies.
                inverse[x * 2 * f + f + k] = alpha == 1 ? 0 : Float(-alpha * sin(angle(k, x)))
            }
        }
        rowForward = forward
        rowInverse = inverse
        var cosTable = [Float](repeating: 0, count: h * h), sinTable = cosTable
        for i in 0..<h {
            for j in 0..<h {
                cosTable[i * h + j] = Float(cos(angle(i, j)))
                sinTable[i * h + j] = Float(sin(angle(i, j)))
            }
        }
        cosine = cosTable
        sine = sinTable
    }

    /// Floats of scratch one work item needs: two `[h][2][f][block]` spectra.
    var scratchPerItem: Int { 2 * side * 2 * frequencies * min(channels, Self.channelBlock) }

    var kind: String { "global filter" }

    /// Both transforms' products (steps 1–2 and 4–5); the filter's complex product is elementwise
    /// and, as fvcore counts, free.
    func macsPerImage(input: [Int], output: [Int]) -> Int {
        2 * (side * 2 * frequencies * side * channels + 4 * side * side * frequencies * channels)
    }

    func itemsPerImage(input: [Int], output: [Int]) -> Int {
        (channels + Self.channelBlock - 1) / Self.channelBlock
    }

    func run(item: Int, _ image: FamilyOperationImage) {
        let h = side, f = frequencies, c = channels
        let first = item * Self.channelBlock, width = min(Self.channelBlock, c - first)
        // One grid row of the spectrum: f real rows, then f imaginary rows, `width` wide.
        let half = f * width, row = 2 * half
        let spectrum = image.scratch, mixed = image.scratch + h * row
        rowForward.withUnsafeBufferPointer { forward in
            for y in 0..<h {
                BLAS.gemm(m: 2 * f, n: width, k: h, a: forward.baseAddress!, lda: h,
                          b: image.x + y * h * c + first, ldb: c, c: spectrum + y * row, ldc: width)
            }
        }
        columnTransform(spectrum, into: mixed, inverse: false, half: half, row: row)
        weight.withUnsafeBufferPointer { w in
            for y in 0..<h {
                let z = mixed + y * row
                for k in 0..<f {
                    let wr = w.baseAddress! + ((y * 2) * f + k) * c + first
                    let wi = w.baseAddress! + ((y * 2 + 1) * f + k) * c + first
                    let zr = z + k * width, zi = z + half + k * width
                    for j in 0..<width {
                        let (a, b) = (zr[j], zi[j])
                        zr[j] = a * wr[j] - b * wi[j]
                        zi[j] = a * wi[j] + b * wr[j]
                    }
                }
            }
        }
        columnTransform(mixed, into: spectrum, inverse: true, half: half, row: row)
        if let r = image.residual, r != UnsafePointer(image.out) {
            for y in 0..<(h * h) { (image.out + y * c + first).update(from: r + y * c + first, count: width) }
        }
        let beta: Float = image.residual == nil ? 0 : 1
        rowInverse.withUnsafeBufferPointer { inverse in
            for y in 0..<h {
                BLAS.gemm(m: h, n: width, k: 2 * f, a: inverse.baseAddress!, lda: 2 * f, b: spectrum + y * row,
                          ldb: width, beta: beta, c: image.out + y * h * c + first, ldc: c)
            }
        }
    }

    /// The complex DFT along the grid's height of every frequency row: forward
    /// `Re' = C·Re + S·Im, Im' = C·Im − S·Re`, inverse `Re' = C·Re − S·Im, Im' = C·Im + S·Re`.
    private func columnTransform(_ x: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                 inverse: Bool, half: Int, row: Int) {
        let h = side, sign: Float = inverse ? -1 : 1
        cosine.withUnsafeBufferPointer { cosTable in
            sine.withUnsafeBufferPointer { sinTable in
                let cs = cosTable.baseAddress!, sn = sinTable.baseAddress!
                BLAS.gemm(m: h, n: half, k: h, a: cs, lda: h, b: x, ldb: row, c: out, ldc: row)
                BLAS.gemm(m: h, n: half, k: h, alpha: sign, a: sn, lda: h, b: x + half, ldb: row, beta: 1,
                          c: out, ldc: row)
                BLAS.gemm(m: h, n: half, k: h, a: cs, lda: h, b: x + half, ldb: row, c: out + half, ldc: row)
                BLAS.gemm(m: h, n: half, k: h, alpha: -sign, a: sn, lda: h, b: x, ldb: row, beta: 1,
                          c: out + half, ldc: row)
            }
        }
    }
}
