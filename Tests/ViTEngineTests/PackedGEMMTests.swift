import CKernels
import XCTest

/// `vit_gemm_packed` against the definition in Double for every tile shape the kernel picks
/// (8-, 16- and 32-column panels, 12/8/4/2/1-row tiles) and every epilogue (bias, residual in
/// place, ReLU, GELU), on the AVX-512 and the portable path.
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
        for portable in [false, true] {
            vit_kernels_use_portable(portable ? 1 : 0)
            defer { vit_kernels_use_portable(0) }
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
                              + "portable=\(portable)", file: file, line: line)
        }
    }

    func testNarrowLayers() {
        for n in [3, 8, 13, 16] {
            check(m: 27, n: n, k: 27, activation: Int32(VIT_ACT_IDENTITY), residual: false)
            check(m: 13, n: n, k: 40, activation: Int32(VIT_ACT_GELU), residual: true)
            check(m: 12, n: n, k: 9, activation: Int32(VIT_ACT_RELU), residual: true)
        }
    }

    func testWideLayers() {
        check(m: 37, n: 96, k: 64, activation: Int32(VIT_ACT_RELU), residual: false)
        check(m: 25, n: 72, k: 33, activation: Int32(VIT_ACT_GELU), residual: true)
    }
}
