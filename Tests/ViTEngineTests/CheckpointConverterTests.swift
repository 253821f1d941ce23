import Foundation
import XCTest
@testable import ViTEngine

/// `.pth` (either layout) → safetensors in the canonical timm layout.
final class CheckpointConverterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testCreamCheckpointBecomesTimmLayoutWithMetadata() throws {
        let input = Fixtures.path("pth/m0_cream_f16.pth")
        let summary = try CheckpointConverter.convert(input: input, output: path("m0.safetensors"))
        XCTAssertEqual(summary.model, "efficientvit_m0")
        XCTAssertEqual(summary.dtype, "F16", "a float16 checkpoint stays float16 (exact)")
        XCTAssertEqual(summary.skipped.filter { $0.hasSuffix("attention_bias_idxs") }.count, 6)
        XCTAssertTrue(summary.skipped.allSatisfy { $0.hasSuffix("attention_bias_idxs") || $0.hasSuffix("num_batches_tracked") })

        let output = try SafeTensorsFile(path: path("m0.safetensors"))
        let info = try ModelRegistry.model(named: "m0")
        XCTAssertEqual(output.names, Model.tensorSpec(for: info).map(\.name).sorted())
        XCTAssertEqual(output.metadata["model"], "efficientvit_m0")
        XCTAssertEqual(output.metadata["architecture"], "efficientvit")
        XCTAssertEqual(output.metadata["layout"], "timm")
        XCTAssertEqual(output.metadata["source"], "m0_cream_f16.pth")
        XCTAssertEqual(output.metadata["source_sha256"], try SHA256.hexDigest(ofFile: input))
        // The values are the generator's weights of the m0_224_b2 case, rounded to float16 (the
        // Python converter is checked against the same weights when the fixtures are made).
        let seed = Fixtures.fixtureCase("m0_224_b2").weightSeed
        for t in Fixtures.generatedWeights(model: info, seed: seed) {
            XCTAssertEqual(try output.floats(t.name), t.values.map { halfBitsToFloat(floatToHalfBits($0)) }, t.name)
        }
    }

    func testConvertingTheConvertedFileIsStable() throws {
        _ = try CheckpointConverter.convert(input: Fixtures.path("pth/m0_cream_f16.pth"), output: path("a.safetensors"))
        let again = try CheckpointConverter.convert(input: path("a.safetensors"), output: path("b.safetensors"), model: "m0", dtype: "f32")
        XCTAssertEqual(again.dtype, "F32")
        XCTAssertEqual(again.skipped, [])
        let a = try SafeTensorsFile(path: path("a.safetensors")), b = try SafeTensorsFile(path: path("b.safetensors"))
        for name in a.names { XCTAssertEqual(try a.floats(name), try b.floats(name)) }
    }

    /// A tensor whose dtype the engine cannot convert exactly (integers, F64, a name safetensors
    /// does not define) is refused by tensor and dtype, and no file is written — not zeros.
    func testTensorsOfOtherDTypesAreRefusedNotZeroed() throws {
        _ = try CheckpointConverter.convert(input: Fixtures.path("pth/m0_cream_f16.pth"), output: path("a.safetensors"))
        let original = try Data(contentsOf: URL(fileURLWithPath: path("a.safetensors")))
        let name = "head.linear.weight"
        for dtype in ["I16", "U16", "Q16"] {  // same element size as F16, so the byte ranges stay valid
            var bytes = original
            let key = try XCTUnwrap(bytes.range(of: Data("\"\(name)\"".utf8)))
            let field = try XCTUnwrap(bytes.range(of: Data("\"F16\"".utf8), in: key.upperBound..<bytes.count))
            bytes.replaceSubrange(field, with: Data("\"\(dtype)\"".utf8))
            let input = path("\(dtype).safetensors")
            try bytes.write(to: URL(fileURLWithPath: input))
            XCTAssertThrowsError(try CheckpointConverter.convert(input: input, output: path("out.safetensors"), model: "m0")) { error in
                XCTAssertEqual(error as? EngineError, .unsupportedDType(tensor: name, dtype: dtype, path: input))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.safetensors")), dtype)
        }
    }

    func testFailuresLeaveNoOutput() throws {
        let cases: [(String, String?)] = [(Fixtures.path("pth/tiny_timm.pth"), nil), (Fixtures.path("pth/m0_cream_f16.pth"), "m1"),
                                          (Fixtures.path("pth/evil_os_system.pth"), nil)]
        for (input, model) in cases {
            XCTAssertThrowsError(try CheckpointConverter.convert(input: input, output: path("out.safetensors"), model: model)) { error in
                XCTAssertNotNil(error as? EngineError, "\(error)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], input)
        }
    }
}
