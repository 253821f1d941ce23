import CKernels
import XCTest
@testable import ViTEngine

/// The depthwise kernel with its residual in place (the planner writes a node's output over a
/// residual that dies there) and the bilinear 2× upsampling, against the definitions in Double,
/// on every kernel tier this CPU runs.
final class FeatureMapKernelTests: XCTestCase {
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<count).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1
        }
    }

    /// Stride 1 and 2, residual in place; channel counts that need 1, 2, 3 and 4 vectors and a
    /// tail (70: a 64-channel block and 6 more), and input pixels wider than their channels (the
    /// attention's query columns inside its qkv rows), whose other floats must not be read; rows
    /// as wide as EfficientViT's (14) and odd ones, and rows of 1 and 2 pixels (edges only). The
    /// Every tier gives the portable tier's bits.
    func testDepthwiseResidualInPlace() {
        for (c, ldx) in [(70, 70), (16, 16), (16, 48), (40, 40), (8, 19), (128, 160)] {
            checkDepthwise(h: 7, w: 6, c: c, ldx: ldx, k: 3)
        }
        for (h, w, c) in [(5, 14, 48), (4, 15, 16), (3, 23, 40), (3, 1, 24), (2, 2, 16)] {
            checkDepthwise(h: h, w: w, c: c, ldx: c, k: 3)
        }
        checkDepthwise(h: 7, w: 7, c: 16, ldx: 64, k: 5)
    }

    private func checkDepthwise(h: Int, w: Int, c: Int, ldx: Int, k: Int) {
        var x = values(h * w * ldx, seed: 1), weight = values(k * k * c, seed: 2), bias = values(c, seed: 3)
        for pixel in 0..<(h * w) { for j in c..<ldx { x[pixel * ldx + j] = .nan } }
        let pad = k / 2
        for stride in [1, 2] {
            let oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1
            let residual = values(oh * ow * c, seed: 4)
            var results: [[Float]] = []
            for isa in KernelTiers.supported {
                XCTAssertNoThrow(try KernelISA.use(isa))
                defer { try? KernelISA.use(KernelISA.best) }
                var out = residual
                out.withUnsafeMutableBufferPointer { o in
                    vit_depthwise_hwc(x, ldx, Int32(h), Int32(w), Int32(c), weight, bias, Int32(k), Int32(stride),
                                      Int32(VIT_ACT_IDENTITY), nil, nil, UnsafePointer(o.baseAddress), o.baseAddress,
                                      0, Int32(oh))
                }
                var worst = 0.0
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        for ch in 0..<c {
                            var v = Double(bias[ch]) + Double(residual[(oy * ow + ox) * c + ch])
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let iy = oy * stride - pad + ky, ix = ox * stride - pad + kx
                                    guard (0..<h).contains(iy), (0..<w).contains(ix) else { continue }
                                    v += Double(x[(iy * w + ix) * ldx + ch]) * Double(weight[(ky * k + kx) * c + ch])
                                }
                            }
                            worst = max(worst, abs(v - Double(out[(oy * ow + ox) * c + ch])))
                        }
                    }
                }
                XCTAssertLessThan(worst, 1e-5, "\(c) channels, ldx \(ldx), kernel \(k), stride \(stride), isa=\(isa)")
                results.append(out)
            }
            // Every tier sums the taps in (ky, kx) order, one FMA each where the CPU has FMA (the
            // portable tier's too, on a CPU with AVX2: its target_clones use FMA there).
            if KernelISA.avx2.isSupported {
                for (isa, result) in zip(KernelTiers.supported, results) {
                    XCTAssertEqual(result.map(\.bitPattern), results.last!.map(\.bitPattern),
                                   "\(h)×\(w), \(c) channels, kernel \(k), stride \(stride): \(isa) and portable bits")
                }
            }
        }
    }

    /// PyTorch's `F.interpolate(scale_factor=2, mode='bilinear', align_corners=False)`: source
    /// coordinate (o + 0.5) / 2 − 0.5 clamped to [0, size − 1].
    func testUpsampleMatchesBilinearDefinition() {
        let (h, w, c) = (5, 4, 19)
        let x = values(h * w * c, seed: 5)
        func taps(_ o: Int, _ size: Int) -> (Int, Int, Double) {
            let source = max((Double(o) + 0.5) / 2 - 0.5, 0)
            let i0 = Int(source)
            return (i0, min(i0 + 1, size - 1), source - Double(i0))
        }
        for isa in KernelTiers.supported {
            XCTAssertNoThrow(try KernelISA.use(isa))
            defer { try? KernelISA.use(KernelISA.best) }
            var out = [Float](repeating: .nan, count: 4 * h * w * c)
            vit_upsample2x_bilinear_hwc(x, Int32(h), Int32(w), Int32(c), Int32(VIT_ACT_IDENTITY), &out, 0, Int32(2 * h))
            var worst = 0.0
            for oy in 0..<(2 * h) {
                let (y0, y1, ly) = taps(oy, h)
                for ox in 0..<(2 * w) {
                    let (x0, x1, lx) = taps(ox, w)
                    for ch in 0..<c {
                        func at(_ y: Int, _ x_: Int) -> Double { Double(x[(y * w + x_) * c + ch]) }
                        let v = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1))
                            + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1))
                        worst = max(worst, abs(v - Double(out[(oy * 2 * w + ox) * c + ch])))
                    }
                }
            }
            XCTAssertLessThan(worst, 1e-6, "isa=\(isa)")
        }
    }
}
