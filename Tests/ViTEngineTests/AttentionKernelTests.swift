import CKernels
import XCTest
@testable import ViTEngine

/// `vit_attention_head` against the definition computed in Double, for the shapes the engine
/// uses (EfficientViT's 7×7 and 4×4 windows, 16-dim keys, 16–64-dim values) and for the paths no
/// model reaches today (more than 64 tokens, more than four 16-wide value vectors, a tail of
/// queries shorter than a block), on every kernel tier this CPU runs.
final class AttentionKernelTests: XCTestCase {
    private func check(tokens t: Int, keyDim kd: Int, valueDim vd: Int, bias withBias: Bool,
                       file: StaticString = #filePath, line: UInt = #line) {
        // Rows wider than the data (ld > dim), as the engine's qkv buffer has them.
        let ldq = kd + 3, ldk = kd + 5, ldv = vd + 7, ldo = vd + 1
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(t * 131 + kd * 17 + vd)
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
        }
        let q = (0..<(t * ldq)).map { _ in next() }
        let k = (0..<(t * ldk)).map { _ in next() }
        let v = (0..<(t * ldv)).map { _ in next() }
        let bias = withBias ? (0..<(t * t)).map { _ in next() } : []
        let scale: Float = 0.25

        var expected = [Double](repeating: 0, count: t * vd)
        for i in 0..<t {
            let s = (0..<t).map { j in
                (0..<kd).reduce(0.0) { $0 + Double(q[i * ldq + $1] * scale) * Double(k[j * ldk + $1]) }
                    + (withBias ? Double(bias[i * t + j]) : 0)
            }
            let top = s.max()!
            let e = s.map { Foundation.exp($0 - top) }
            let sum = e.reduce(0, +)
            for c in 0..<vd {
                expected[i * vd + c] = (0..<t).reduce(0.0) { $0 + e[$1] / sum * Double(v[$1 * ldv + c]) }
            }
        }

        for isa in KernelTiers.supported {
            XCTAssertNoThrow(try KernelISA.use(isa))
            defer { try? KernelISA.use(KernelISA.best) }
            var out = [Float](repeating: .nan, count: t * ldo)
            var scratch = [Float](repeating: 0, count: Int(vit_attention_head_scratch_count(Int32(t), Int32(kd))))
            bias.withUnsafeBufferPointer { b in
                vit_attention_head(q, ldq, k, ldk, v, ldv, withBias ? b.baseAddress : nil, Int32(t), Int32(kd),
                                   Int32(vd), scale, &out, ldo, &scratch)
            }
            var worst = 0.0
            for i in 0..<t {
                for c in 0..<vd { worst = max(worst, abs(Double(out[i * ldo + c]) - expected[i * vd + c])) }
                for c in vd..<ldo { XCTAssert(out[i * ldo + c].isNaN, "wrote past the row", file: file, line: line) }
            }
            XCTAssertLessThan(worst, 1e-5, "t=\(t) kd=\(kd) vd=\(vd) bias=\(withBias) isa=\(isa)",
                              file: file, line: line)
        }
    }

    func testEfficientViTWindows() {
        check(tokens: 49, keyDim: 16, valueDim: 16, bias: true)
        check(tokens: 49, keyDim: 16, valueDim: 32, bias: true)
        check(tokens: 16, keyDim: 16, valueDim: 48, bias: true)
        check(tokens: 25, keyDim: 16, valueDim: 64, bias: true)
    }

    func testOtherShapes() {
        check(tokens: 1, keyDim: 8, valueDim: 5, bias: false)
        check(tokens: 7, keyDim: 3, valueDim: 17, bias: false)
        check(tokens: 64, keyDim: 32, valueDim: 80, bias: true)
        check(tokens: 100, keyDim: 24, valueDim: 40, bias: true)
        check(tokens: 197, keyDim: 64, valueDim: 64, bias: false)
    }
}
