import XCTest
@testable import ViTEngine

/// GFNet's global filter (dense real DFT products, split into channel blocks) against the
/// definition evaluated directly in double precision: `rfft2(x, norm="ortho")`, the complex
/// product, then the inverse complex DFT along the height and `irfft` along the width, which
/// reads the zero and Nyquist frequencies' real parts only.
final class GlobalFilterTests: XCTestCase {
    func testMatchesTheDefinitionOnOddAndEvenGrids() {
        // 70 channels: one full block of 64 and one of 6; grids with and without a Nyquist
        // frequency, and the 1×1 grid.
        for side in [1, 2, 5, 6, 14] {
            checkFilter(side: side, channels: 70, residual: false)
        }
        checkFilter(side: 6, channels: 3, residual: true)
    }

    private func checkFilter(side h: Int, channels c: Int, residual: Bool, file: StaticString = #filePath,
                             line: UInt = #line) {
        var rng = SystemRandomNumberGenerator()
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }
        let f = h / 2 + 1
        let raw = random(h * f * c * 2), x = random(h * h * c), base = random(h * h * c)
        let filter = GlobalFilter(weight: raw, trainGrid: h, grid: h, channels: c)
        var out = residual ? base : [Float](repeating: .nan, count: h * h * c)
        var scratch = [Float](repeating: .nan, count: filter.scratchPerItem)
        let items = filter.itemsPerImage(input: [1, h * h, c], output: [1, h * h, c])
        XCTAssertEqual(items, (c + 63) / 64, file: file, line: line)
        x.withUnsafeBufferPointer { xp in
            base.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        for item in 0..<items {
                            filter.run(item: item, FamilyOperationImage(
                                x: xp.baseAddress!, residual: residual ? bp.baseAddress! : nil, auxiliary: nil, out: op.baseAddress!,
                                scratch: sp.baseAddress!, inputShape: [1, h * h, c], outputShape: [1, h * h, c]))
                        }
                    }
                }
            }
        }
        var worst = 0.0, largest = 0.0
        for ch in 0..<c {
            let expected = Self.reference(x: x, weight: raw, side: h, channels: c, channel: ch)
            for p in 0..<(h * h) {
                let want = expected[p] + (residual ? Double(base[p * c + ch]) : 0)
                worst = max(worst, abs(Double(out[p * c + ch]) - want))
                largest = max(largest, abs(want))
            }
        }
        XCTAssertLessThan(worst, 1e-5 * max(largest, 1), "side \(h), \(c) channels, residual \(residual)",
                          file: file, line: line)
    }

    /// One channel of `irfft2(rfft2(x) ⊙ W)` over an `h × h` grid, straight from the sums.
    private static func reference(x: [Float], weight: [Float], side h: Int, channels c: Int, channel ch: Int) -> [Double] {
        let f = h / 2 + 1, n = Double(h)
        func e(_ k: Int, _ j: Int) -> (Double, Double) {
            let a = 2 * Double.pi * Double(k * j) / n
            return (cos(a), sin(a))
        }
        // Forward: X[ky][kx] = Σ x[y][x] e^{−2πi(ky·y + kx·x)/h} / h, for kx < f.
        var spectrum = [[(Double, Double)]](repeating: [(Double, Double)](repeating: (0, 0), count: f), count: h)
        for ky in 0..<h {
            for kx in 0..<f {
                var (re, im) = (0.0, 0.0)
                for y in 0..<h {
                    for xx in 0..<h {
                        let (cy, sy) = e(ky, y), (cx, sx) = e(kx, xx)
                        let (cr, ci) = (cy * cx - sy * sx, sy * cx + cy * sx)  // e^{+iθ}
                        let v = Double(x[(y * h + xx) * c + ch])
                        re += v * cr
                        im -= v * ci
                    }
                }
                let w = ((ky * f + kx) * c + ch) * 2
                let (wr, wi) = (Double(weight[w]), Double(weight[w + 1]))
                spectrum[ky][kx] = ((re * wr - im * wi) / n, (re * wi + im * wr) / n)
            }
        }
        // Inverse along the height (complex), then irfft along the width.
        var out = [Double](repeating: 0, count: h * h)
        for y in 0..<h {
            var column = [(Double, Double)](repeating: (0, 0), count: f)
            for kx in 0..<f {
                for ky in 0..<h {
                    let (cs, sn) = e(ky, y), (re, im) = spectrum[ky][kx]
                    column[kx].0 += re * cs - im * sn
                    column[kx].1 += re * sn + im * cs
                }
            }
            for xx in 0..<h {
                var v = column[0].0
                for kx in 1..<f {
                    let (cs, sn) = e(kx, xx)
                    if 2 * kx == h {
                        v += column[kx].0 * cs
                    } else {
                        v += 2 * (column[kx].0 * cs - column[kx].1 * sn)
                    }
                }
                out[y * h + xx] = v / n
            }
        }
        return out
    }
}
