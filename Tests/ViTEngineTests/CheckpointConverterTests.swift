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
        // Same values as the Python converter's output of the same weights (the committed fixture).
        let python = try SafeTensorsFile(path: Fixtures.path("m0_cream_f16.safetensors"))
        for name in python.names {
            guard case let .tensor(canonical)? = EfficientViT.checkpointKey(name) else { return XCTFail(name) }
            XCTAssertEqual(try output.floats(canonical), try python.floats(name), name)
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
