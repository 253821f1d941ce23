import CKernels
import XCTest
@testable import ViTEngine

/// `vit_gemm_packed` against the definition in Double for every tile shape the kernel picks
/// (8-, 16- and 32-column panels, 12/8/4/2/1-row tiles) and every epilogue (bias, residual in
/// place, ReLU, GELU), on every kernel tier this CPU runs.
final class PackedGEMMTests: XCTestCase {
    private func check(m: Int, n: Int, k: Int, activation: Int32, residual withResidual: Bool,
                       file: StaticString = #filePath, line: UInt = #line) {
        var seed: UInt64 = 0xD1B5_4A32_D192_ED03 &* UInt64(m * 1009 + n * 31 + k)
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
        let lda = k + 2, ldc = n + 3
        let a = (0..<(m * lda)).map { _ in next() }
        let w = (0..<(k * n)).map { _ in next() }
        let bias = (0..<n).map { _ in next() }
        let start = (0..<(m * ldc)).map { _ in next() }
        var packed = [Float](repeating: 0, count: Int(vit_packed_weights_count(Int32(k), Int32(n))))
        vit_pack_weights(w, Int32(k), Int32(n), &packed)

        func gelu(_ x: Double) -> Double { x * 0.5 * (1 + erf(x / 2.0.squareRoot())) }
        for isa in KernelTiers.supported {
            XCTAssertNoThrow(try KernelISA.use(isa))
            defer { try? KernelISA.use(KernelISA.best) }
            var c = start
            c.withUnsafeMutableBufferPointer { out in
                vit_gemm_packed(Int32(m), Int32(n), Int32(k), a, lda, packed, bias, activation,
                                withResidual ? UnsafePointer(out.baseAddress) : nil, ldc, out.baseAddress, ldc)
            }
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var v = (0..<k).reduce(0.0) { $0 + Double(a[i * lda + $1]) * Double(w[$1 * n + j]) } + Double(bias[j])
                    if withResidual { v += Double(start[i * ldc + j]) }
                    if activation == Int32(VIT_ACT_RELU) { v = max(v, 0) }
                    if activation == Int32(VIT_ACT_GELU) { v = gelu(v) }
                    worst = max(worst, abs(Double(c[i * ldc + j]) - v))
                }
                for j in n..<ldc {
                    XCTAssertEqual(c[i * ldc + j], start[i * ldc + j], "wrote past column \(n)", file: file, line: line)
                }
            }
            XCTAssertLessThan(worst, 1e-4, "m=\(m) n=\(n) k=\(k) act=\(activation) residual=\(withResidual) "
                              + "isa=\(isa)", file: file, line: line)
        }
    }

    func testNarrowLayers() {
        for n in [3, 8, 13, 16] {
            check(m: 27, n: n, k: 27, activation: Int32(VIT_ACT_IDENTITY), residual: false)
            check(m: 13, n: n, k: 40, activation: Int32(VIT_ACT_GELU), residual: true)
            check(m: 12, n: n, k: 9, activation: Int32(VIT_ACT_RELU), residual: true)
        }
    }

    /// The edges every tier's tiling must handle: 1 row, 1 column, K of 1, widths that are not
    /// a multiple of any vector (4, 8, 16) or that end one column into a new panel, row counts
    /// that leave every short tile (1–11 rows after the tall ones).
    func testOddEdges() {
        for (m, n, k) in [(1, 1, 1), (1, 33, 5), (2, 1, 9), (5, 9, 1), (7, 17, 3), (11, 31, 8), (13, 40, 2),
                          (19, 65, 7), (23, 100, 12)] {
            check(m: m, n: n, k: k, activation: Int32(VIT_ACT_GELU), residual: true)
            check(m: m, n: n, k: k, activation: Int32(VIT_ACT_IDENTITY), residual: false)
        }
    }

    func testWideLayers() {
        check(m: 37, n: 96, k: 64, activation: Int32(VIT_ACT_RELU), residual: false)
        check(m: 25, n: 72, k: 33, activation: Int32(VIT_ACT_GELU), residual: true)
    }

    /// Dense convolutions against the definition in Double (kernels 2, 3, 5, 7, strides 1–3, an
    /// image narrower than the kernel), and the channels-last input bit-identical to the same
    /// image in NCHW: same taps, same order. Output rows are computed in blocks of two, three and
    /// the whole image, as the executor cuts them into blocks, so every block's band starts at
    /// another input row; the bits must not depend on the cut. 3×3 stride-2 layers with 16 or more
    /// input channels run both ways: plain, and in row pairs with the weight's outer-rows sum.
    /// Planar RGB stems take a tier's pixel-vectorized kernel where it has one (AVX-512: 8 or 24
    /// outputs; 8-float tiers: 8 to 32), whose bits must be those of the channels-last GEMM.
    /// Packing a PyTorch-layout weight directly gives the panels of packing its transposed
    /// (and, for a convolution, tap-major) matrix: a linear layer's `[n, k]`, a convolution's
    /// `[n, cin, kernel, kernel]` as rows (ky, kx, ci); widths that leave a partial last panel.
    func testPyTorchWeightsPackLikeTheirTransposedMatrix() {
        for (n, cin, kernel) in [(40, 24, 1), (7, 3, 1), (96, 16, 3), (24, 3, 3), (33, 5, 7)] {
            let taps = kernel * kernel, k = taps * cin
            let torch = (0..<(n * k)).map { Float($0 % 97) - 48 + Float($0) / 4096 }
            var matrix = [Float](repeating: 0, count: k * n)  // [(ky, kx, ci), n]
            for o in 0..<n {
                for ci in 0..<cin {
                    for tap in 0..<taps { matrix[(tap * cin + ci) * n + o] = torch[(o * cin + ci) * taps + tap] }
                }
            }
            let count = Int(vit_packed_weights_count(Int32(k), Int32(n)))
            var expected = [Float](repeating: .nan, count: count), packed = [Float](repeating: .nan, count: count)
            vit_pack_weights(matrix, Int32(k), Int32(n), &expected)
            vit_pack_torch_weights(torch, Int32(n), Int32(cin), Int32(kernel), &packed)
            XCTAssertEqual(packed.map(\.bitPattern), expected.map(\.bitPattern), "n \(n) cin \(cin) kernel \(kernel)")
        }
    }

    func testDenseConvolutionMatchesItsDefinitionInBothLayouts() {
        // (cin, cout, height, width, kernel, stride, pad)
        let shapes = [(8, 16, 9, 11, 3, 2, 1), (5, 40, 7, 6, 3, 1, 1), (4, 8, 6, 9, 5, 1, 2),
                      (3, 8, 10, 10, 3, 2, 1), (6, 12, 8, 8, 2, 2, 0), (4, 8, 5, 2, 3, 1, 1), (2, 24, 4, 13, 7, 3, 3),
                      // RGB stems: odd widths, 8- to 48-channel outputs (two panels), one input channel
                      (3, 24, 9, 37, 3, 2, 1), (3, 48, 6, 66, 3, 2, 1), (1, 16, 5, 34, 3, 2, 1), (4, 8, 7, 3, 3, 2, 1),
                      (3, 12, 6, 20, 3, 2, 1),
                      // 8 and 24 outputs from planar images run vectorized over pixels (image_conv.c):
                      // rows of 3, 2, 4 (2 + 2) and 7 (3 + 2 + 2) 16-pixel vectors, full and partial
                      (3, 8, 5, 70, 3, 2, 1), (2, 24, 6, 33, 3, 2, 1), (3, 8, 4, 112, 3, 2, 1), (3, 8, 3, 200, 3, 2, 1),
                      // 8-float tiers also run 16 and 32 outputs by pixels (templates/image_conv.h): tiles of
                      // 6 and 3 pixels and the rest one by one, an image 1 pixel wide
                      (3, 16, 5, 27, 3, 2, 1), (3, 32, 7, 29, 3, 2, 1), (4, 32, 3, 1, 3, 2, 1), (3, 16, 1, 2, 3, 2, 1),
                      // row pairs: odd and even heights and widths, 8- to 48-channel outputs, odd cin
                      (16, 24, 9, 11, 3, 2, 1), (32, 40, 8, 7, 3, 2, 1), (17, 8, 5, 4, 3, 2, 1), (16, 48, 2, 5, 3, 2, 1),
                      (24, 32, 12, 12, 3, 2, 1)]
        for (cin, cout, h, w, k, stride, pad) in shapes {
            var seed = UInt64(cin * 131 + cout * 17 + h * 7 + w + k)
            func next() -> Float {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
            }
            let hwc = (0..<(h * w * cin)).map { _ in next() }
            var chw = [Float](repeating: 0, count: hwc.count)
            for y in 0..<h { for x in 0..<w { for c in 0..<cin { chw[(c * h + y) * w + x] = hwc[(y * w + x) * cin + c] } } }
            let weight = (0..<(k * k * cin * cout)).map { _ in next() }  // row (ky·k + kx)·cin + c, column o
            let bias = (0..<cout).map { _ in next() }
            var packed = [Float](repeating: 0, count: Int(vit_packed_weights_count(Int32(k * k * cin), Int32(cout))))
            vit_pack_weights(weight, Int32(k * k * cin), Int32(cout), &packed)
            let pairs = vit_conv2d_uses_row_pairs(Int32(cin), Int32(k), Int32(stride)) != 0
            XCTAssertEqual(pairs, k == 3 && stride == 2 && cin >= 16)
            var outerSum = [Float](repeating: 0, count: Int(vit_packed_weights_count(Int32(3 * cin), Int32(cout))))
            if pairs { vit_pack_outer_rows_sum(packed, Int32(cin), Int32(cout), &outerSum) }
            let oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1
            var scratch = [Float](repeating: .nan, count: Int(vit_conv2d_scratch_count(Int32(cin), Int32(w), Int32(k),
                                                                                        Int32(stride), Int32(pad), Int32(cout),
                                                                                        Int32(oh))))
            func run(_ input: [Float], channelsLast: Bool, rowPairs: Bool, blockRows: Int = 2,
                     activation: Int32 = Int32(VIT_ACT_IDENTITY)) -> [Float] {
                var out = [Float](repeating: .nan, count: oh * ow * cout)
                outerSum.withUnsafeBufferPointer { outer in
                    out.withUnsafeMutableBufferPointer { out in
                        for oy0 in Swift.stride(from: 0, to: oh, by: blockRows) {
                            vit_conv2d_packed_rows(input, channelsLast ? 1 : 0, Int32(h), Int32(w), Int32(cin), Int32(k),
                                                   Int32(stride), Int32(pad), packed, rowPairs ? outer.baseAddress : nil,
                                                   bias, Int32(cout), activation, Int32(oy0), Int32(min(oh, oy0 + blockRows)),
                                                   &scratch, out.baseAddress! + oy0 * ow * cout, ow * cout)
                        }
                    }
                }
                return out
            }
            for rowPairs in pairs ? [false, true] : [false] {
                let label = "cin \(cin) cout \(cout) \(h)×\(w) kernel \(k) stride \(stride) pad \(pad) row pairs \(rowPairs)"
                for isa in KernelTiers.supported {
                    XCTAssertNoThrow(try KernelISA.use(isa))
                    defer { try? KernelISA.use(KernelISA.best) }
                    let inPlace = run(hwc, channelsLast: true, rowPairs: rowPairs)
                    let banded = run(chw, channelsLast: false, rowPairs: rowPairs)
                    XCTAssertEqual(inPlace.map(\.bitPattern), banded.map(\.bitPattern), "\(label) isa=\(isa)")
                    for blockRows in [3, oh] {
                        XCTAssertEqual(run(hwc, channelsLast: true, rowPairs: rowPairs, blockRows: blockRows).map(\.bitPattern),
                                       inPlace.map(\.bitPattern), "\(label) blocks of \(blockRows) isa=\(isa)")
                    }
                    for activation in [VIT_ACT_RELU, VIT_ACT_GELU].map(Int32.init) {
                        XCTAssertEqual(run(hwc, channelsLast: true, rowPairs: rowPairs, activation: activation).map(\.bitPattern),
                                       run(chw, channelsLast: false, rowPairs: rowPairs, activation: activation).map(\.bitPattern),
                                       "\(label) activation \(activation) isa=\(isa)")
                    }
                    var worst = 0.0
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            for o in 0..<cout {
                                var v = Double(bias[o])
                                for ky in 0..<k {
                                    for kx in 0..<k {
                                        let iy = oy * stride - pad + ky, ix = ox * stride - pad + kx
                                        guard (0..<h).contains(iy), (0..<w).contains(ix) else { continue }
                                        for c in 0..<cin {
                                            v += Double(hwc[(iy * w + ix) * cin + c]) * Double(weight[((ky * k + kx) * cin + c) * cout + o])
                                        }
                                    }
                                }
                                worst = max(worst, abs(v - Double(inPlace[(oy * ow + ox) * cout + o])))
                            }
                        }
                    }
                    XCTAssertLessThan(worst, 1e-4, "\(label) isa=\(isa)")
                }
            }
        }
    }
}
