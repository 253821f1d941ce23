import ViTEngine

/// PIL's separable 8-bit resampling (`ImagingResample` for 8-bit images), restricted to a window
/// of the output: the resized image's pixels are computed only where a later crop keeps them,
/// with exactly the values PIL computes for them in the full image.
///
/// Per output position, PIL centres the filter at `(i + 0.5) · scale` in the input, widens its
/// support by the scale when shrinking (antialiasing), normalizes the weights to sum 1, and
/// turns them into 22-bit fixed point rounded half away from zero. Each pass accumulates
/// `Σ pixel · weight + 2²¹` in integers and keeps `clamp(sum >> 22, 0, 255)`, so the image is
/// rounded to 8 bits between the horizontal pass (first) and the vertical pass.
struct Resampler {
    /// PIL's `PRECISION_BITS`: 32 − 8 (result) − 2 (headroom for negative lobes and overshoot).
    static let precisionBits = 22

    /// Fixed-point weights for a window of output positions along one axis.
    struct Coefficients {
        /// For each output position in the window: the first input index and how many follow.
        var starts: [Int]
        var counts: [Int]
        /// `ksize` weights per output position (unused ones zero).
        var weights: [Int32]
        var ksize: Int
    }

    /// PIL's `precompute_coeffs` + `normalize_coeffs_8bpc` for `inSize → outSize`, for the output
    /// positions in `window` only.
    static func coefficients(inSize: Int, outSize: Int, window: Range<Int>, filter: ResampleFilter) -> Coefficients {
        let ksize = filter.maximumTaps(inSize: inSize, outSize: outSize)
        let taps = filter.taps(inSize: inSize, outSize: outSize, positions: window)
        var weights = [Int32](repeating: 0, count: window.count * ksize)
        for (row, t) in taps.enumerated() {
            for (x, k) in t.weights.enumerated() {
                let scaled = k * Double(1 << precisionBits)
                weights[row * ksize + x] = Int32(k < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
        }
        return Coefficients(starts: taps.map(\.first), counts: taps.map(\.weights.count), weights: weights,
                            ksize: ksize)
    }

    /// Resizes `image` to `outWidth × outHeight` as PIL does and returns only the pixels in
    /// `rows × columns` of the result (an RGB image of `columns.count × rows.count`).
    static func resize(_ image: RGBImage, outWidth: Int, outHeight: Int, filter: ResampleFilter,
                       rows: Range<Int>, columns: Range<Int>) -> RGBImage {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= outHeight
                     && columns.lowerBound >= 0 && columns.upperBound <= outWidth)
        // PIL skips a pass whose size does not change.
        let horizontal = outWidth != image.width
        let vertical = outHeight != image.height

        // Input rows the vertical pass reads (or the kept rows themselves if there is none).
        let verticalCoefficients = vertical
            ? coefficients(inSize: image.height, outSize: outHeight, window: rows, filter: filter) : nil
        let usedRows: Range<Int>
        if let v = verticalCoefficients, !rows.isEmpty {
            usedRows = v.starts.min()!..<zip(v.starts, v.counts).map { $0 + $1 }.max()!
        } else {
            usedRows = rows
        }

        // Horizontal pass: usedRows × columns, 8-bit.
        let stage: [UInt8]
        if horizontal {
            let c = coefficients(inSize: image.width, outSize: outWidth, window: columns, filter: filter)
            stage = horizontalPass(image, rows: usedRows, coefficients: c)
        } else {
            stage = copyWindow(image, rows: usedRows, columns: columns)
        }
        guard let v = verticalCoefficients else {
            return RGBImage(width: columns.count, height: rows.count, pixels: stage)
        }
        let pixels = verticalPass(stage, width: columns.count, firstRow: usedRows.lowerBound, coefficients: v)
        return RGBImage(width: columns.count, height: rows.count, pixels: pixels)
    }

    /// Rounds a fixed-point sum to 8 bits as PIL's `clip8`.
    @inline(__always)
    private static func clip8(_ sum: Int32) -> UInt8 {
        UInt8(clamping: sum >> Int32(precisionBits))
    }

    private static func horizontalPass(_ image: RGBImage, rows: Range<Int>, coefficients c: Coefficients) -> [UInt8] {
        let outWidth = c.starts.count
        let count = rows.count * outWidth * 3
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            image.pixels.withUnsafeBufferPointer { input in
                c.weights.withUnsafeBufferPointer { weights in
                    for (row, y) in rows.enumerated() {
                        let line = y * image.width * 3
                        for xx in 0..<outWidth {
                            let first = line + c.starts[xx] * 3
                            let k = xx * c.ksize
                            var r: Int32 = 1 << 21, g: Int32 = 1 << 21, b: Int32 = 1 << 21
                            for x in 0..<c.counts[xx] {
                                let w = weights[k + x]
                                r &+= Int32(input[first + 3 * x]) &* w
                                g &+= Int32(input[first + 3 * x + 1]) &* w
                                b &+= Int32(input[first + 3 * x + 2]) &* w
                            }
                            let o = (row * outWidth + xx) * 3
                            out[o] = clip8(r)
                            out[o + 1] = clip8(g)
                            out[o + 2] = clip8(b)
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// The vertical pass over `stage`, whose first row is input row `firstRow`.
    private static func verticalPass(_ stage: [UInt8], width: Int, firstRow: Int, coefficients c: Coefficients) -> [UInt8] {
        let outHeight = c.starts.count
        let rowBytes = width * 3
        let count = outHeight * rowBytes
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            stage.withUnsafeBufferPointer { input in
                c.weights.withUnsafeBufferPointer { weights in
                    var sums = [Int32](repeating: 0, count: rowBytes)
                    for yy in 0..<outHeight {
                        for i in 0..<rowBytes { sums[i] = 1 << 21 }
                        let k = yy * c.ksize
                        for y in 0..<c.counts[yy] {
                            let w = weights[k + y]
                            let line = (c.starts[yy] - firstRow + y) * rowBytes
                            for i in 0..<rowBytes { sums[i] &+= Int32(input[line + i]) &* w }
                        }
                        for i in 0..<rowBytes { out[yy * rowBytes + i] = clip8(sums[i]) }
                    }
                }
            }
            initialized = count
        }
    }

    private static func copyWindow(_ image: RGBImage, rows: Range<Int>, columns: Range<Int>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(rows.count * columns.count * 3)
        for y in rows {
            let line = y * image.width * 3
            out.append(contentsOf: image.pixels[(line + columns.lowerBound * 3)..<(line + columns.upperBound * 3)])
        }
        return out
    }
}
