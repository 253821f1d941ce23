import CKernels
import Foundation
import XCTest
@testable import ViTEngine

/// The instruction-set seam: each tier names itself and its tile geometry, a tier is forced and
/// put back, a name that is no tier (or a tier the CPU lacks) is a typed error, and the row
/// kernels (exp through softmax, GELU, LayerNorm) agree with their definitions on every tier.
final class KernelISATests: XCTestCase {
    func testEachTierRunsWhenForcedAndReportsItsGeometry() throws {
        XCTAssertTrue(KernelISA.portable.isSupported)
        XCTAssertEqual(KernelISA.best, KernelISA.supported.max())
        let rows: [KernelISA: Int] = [.avx512: 12, .avx2: 6, .neon: 12, .portable: 6]
        let before = KernelISA.current  // the best, or what VIT_ISA forced for the whole run
        try KernelTiers.forEach { isa in
            XCTAssertEqual(KernelISA.current, isa)
            XCTAssertEqual(KernelGeometry.gemmRowTile, rows[isa], "\(isa)")
            XCTAssertEqual(KernelGeometry.panelColumns, 32)
        }
        XCTAssertEqual(KernelGeometry.maximumGEMMRowTile, 12)
        XCTAssertEqual(KernelISA.current, before, "the tier that ran before is put back")
    }

    /// NaN passes every activation of the GEMM epilogue on every tier, as `torch.relu(nan)` and
    /// `gelu(nan)` are NaN: a NaN in an input row gives a row of NaN, never a 0 from ReLU.
    func testNaNPassesTheActivationsOnEveryTier() {
        let m = 13, n = 40, k = 9
        var a = (0..<(m * k)).map { Float($0 % 7) - 3 }
        a[5 * k + 2] = .nan
        let b = (0..<(k * n)).map { Float($0 % 5) * 0.25 - 0.5 }
        var packed = [Float](repeating: 0, count: Int(vit_packed_weights_count(Int32(k), Int32(n))))
        vit_pack_weights(b, Int32(k), Int32(n), &packed)
        KernelTiers.forEach { isa in
            for activation in [VIT_ACT_IDENTITY, VIT_ACT_RELU, VIT_ACT_GELU].map(Int32.init) {
                var c = [Float](repeating: 0, count: m * n)
                vit_gemm_packed(Int32(m), Int32(n), Int32(k), a, k, packed, nil, activation, nil, 0, &c, n)
                XCTAssertTrue(c[(5 * n)..<(6 * n)].allSatisfy(\.isNaN), "\(isa), activation \(activation): NaN was replaced")
                XCTAssertTrue(c[..<(5 * n)].allSatisfy(\.isFinite), "\(isa), activation \(activation)")
            }
        }
    }

    /// One NaN pixel reaches every logit of EfficientViT-M0 on every tier, as PyTorch's ops all
    /// propagate NaN (convolutions, BatchNorm, ReLU, attention, pooling); the engine's ReLU once
    /// turned it into 0 at the stem and answered with finite logits.
    func testANaNPixelReachesEveryLogitOnEveryTier() throws {
        let info = try ModelRegistry.model(named: "m0")
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m0.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: info, seed: 7), to: path)
        let model = try Model(info: info, weights: WeightsFile.open(path: path))
        var pixels = [Float](repeating: 0.25, count: 3 * 64 * 64)
        pixels[64 * 20 + 30] = .nan
        try KernelTiers.forEach { isa in
            let logits = try model.makeSession(batch: 1, height: 64, width: 64).run(Tensor(shape: [1, 3, 64, 64], values: pixels)).logits
            XCTAssertTrue(logits.values.allSatisfy(\.isNaN), "\(isa): \(logits.values.filter { !$0.isNaN }.count) finite logits")
        }
    }

    func testNamesThatAreNoTierAreTypedErrors() {
        XCTAssertEqual(try KernelISA(parsing: "AVX2"), .avx2)
        XCTAssertThrowsError(try KernelISA(parsing: "sse4")) { error in
            XCTAssertEqual(error as? KernelISAError, .unknown("sse4"))
            XCTAssert("\(error)".contains("expected one of portable, avx2, avx512, neon"), "\(error)")
        }
        for isa in KernelISA.allCases where !isa.isSupported {
            // Only on a CPU that lacks a tier (AVX2-only CI machines lack avx512).
            XCTAssertThrowsError(try KernelISA.use(isa)) { error in
                XCTAssertEqual(error as? KernelISAError, .unsupported(isa, cpuBest: KernelISA.best))
            }
        }
    }

    func testSessionsRefuseAVITISAThatNamesNoTier() throws {
        let previous = ProcessInfo.processInfo.environment["VIT_ISA"]
        setenv("VIT_ISA", "avx1024", 1)
        defer {
            if let previous { setenv("VIT_ISA", previous, 1) } else { unsetenv("VIT_ISA") }
        }
        let model = try Model.placeholder(ModelRegistry.model(named: "m0"))
        XCTAssertThrowsError(try model.makeSession(batch: 1, height: 64, width: 64)) { error in
            XCTAssertEqual(error as? EngineError, .kernelISA(.unknown("avx1024")))
        }
        setenv("VIT_ISA", "portable", 1)
        XCTAssertNoThrow(try model.makeSession(batch: 1, height: 64, width: 64))
    }

    func testBenchReportsTheTierItRan() throws {
        for isa in KernelTiers.supported {
            let run = try VitProcess.run(["bench", "--model", "m0", "--batch", "1", "--threads", "1", "--height", "64",
                                          "--width", "64", "--warmup", "0", "--duration", "0", "--json", "--isa", isa.rawValue])
            XCTAssertEqual(run.status, 0, run.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(json?["isa"] as? String, isa.rawValue)
        }
        let bogus = try VitProcess.run(["bench", "--model", "m0", "--batch", "1", "--duration", "0", "--isa", "neon9"])
        XCTAssertEqual(bogus.status, 1)
        XCTAssert(bogus.stderr.contains("'neon9' is not a kernel instruction set"), bogus.stderr)
        let fromEnvironment = try VitProcess.run(["bench", "--model", "m0", "--batch", "1", "--duration", "0"],
                                                 environment: ["VIT_ISA": "neon9"])
        XCTAssertEqual(fromEnvironment.status, 1)
        XCTAssert(fromEnvironment.stderr.contains("'neon9' is not a kernel instruction set"), fromEnvironment.stderr)
    }

    private func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var s = seed
        return (0..<count).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return scale * (Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1)
        }
    }

    /// Row lengths around every tier's vector widths (4, 8, 16) and their partial tails.
    private let lengths = [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 49, 197]

    func testSoftmaxRowsOnEveryTier() {
        for n in lengths {
            let x = values(3 * n, seed: UInt64(n), scale: 30), bias = values(3 * n, seed: UInt64(n + 1))
            try? KernelTiers.forEach { isa in
                var m = x
                vit_softmax_rows(&m, bias, 3, Int32(n))
                for r in 0..<3 {
                    let s = (0..<n).map { Double(x[r * n + $0]) + Double(bias[r * n + $0]) }
                    let top = s.max()!, e = s.map { Foundation.exp($0 - top) }, sum = e.reduce(0, +)
                    let worst = (0..<n).map { abs(Double(m[r * n + $0]) - e[$0] / sum) }.max()!
                    XCTAssertLessThan(worst, 1e-6, "n \(n) row \(r) \(isa)")
                }
            }
        }
    }

    func testGELUAndLayerNormRowsOnEveryTier() {
        func gelu(_ v: Double) -> Double { v * 0.5 * (1 + erf(v / 2.0.squareRoot())) }
        for n in lengths {
            let x = values(2 * n, seed: UInt64(7 * n), scale: 4), gamma = values(n, seed: 3), beta = values(n, seed: 4)
            let zeros = [Float](repeating: 0, count: n)
            try? KernelTiers.forEach { isa in
                var g = x
                vit_bias_activation(&g, 2, Int32(n), Int32(n), zeros, Int32(VIT_ACT_GELU))
                let geluError = zip(g, x).map { abs(Double($0) - gelu(Double($1))) }.max()!
                XCTAssertLessThan(geluError, 2e-6, "GELU n \(n) \(isa)")

                var out = [Float](repeating: .nan, count: 2 * n + 1)
                vit_layer_norm_rows(x, n, 2, Int32(n), gamma, beta, 1e-6, &out, n)
                for r in 0..<2 {
                    let row = (0..<n).map { Double(x[r * n + $0]) }
                    let mean = row.reduce(0, +) / Double(n)
                    let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
                    let worst = (0..<n).map { c in
                        abs(Double(out[r * n + c]) - ((row[c] - mean) / (variance + 1e-6).squareRoot() * Double(gamma[c])
                                                      + Double(beta[c])))
                    }.max()!
                    XCTAssertLessThan(worst, 2e-5, "LayerNorm n \(n) row \(r) \(isa)")
                }
                XCTAssert(out[2 * n].isNaN, "LayerNorm wrote past its rows (\(isa))")
            }
        }
    }
}
