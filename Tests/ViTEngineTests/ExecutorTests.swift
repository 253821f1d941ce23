import CEngineSupport
import CKernels
import XCTest
@testable import ViTEngine

/// The executor's promises beyond parity: threads and batching never change a result, and
/// users get OpenBLAS's fast kernels without setting anything.
final class ExecutorTests: XCTestCase {
    func testResultsAreBitIdenticalForAnyThreadCount() throws {
        let info = try ModelRegistry.model(named: "m2")
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: info, seed: 3), to: path)
        let model = try Model(info: info, weights: SafeTensorsFile(path: path))
        let shape = [2, 3, 112, 144]
        let input = Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: 4))
        let single = try model.makeSession(batch: 2, height: 112, width: 144, threads: 1).run(input)
        for threads in [2, 3] {
            let many = try model.makeSession(batch: 2, height: 112, width: 144, threads: threads).run(input)
            XCTAssertEqual(many, single, "\(threads) threads")
        }
    }

    /// The 1×1 GEMMs run over the rows of the whole batch in blocks that span images; every
    /// output row must still come out exactly as it does when its image runs alone.
    func testAnImagesResultDoesNotDependOnItsBatch() throws {
        let info = try ModelRegistry.model(named: "m2")
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write(Fixtures.generatedWeights(model: info, seed: 5), to: path)
        let model = try Model(info: info, weights: SafeTensorsFile(path: path))
        let (batch, height, width) = (3, 96, 128)
        let image = 3 * height * width
        let values = Fixtures.manifest.generator.input(shape: [batch, 3, height, width], seed: 6)
        let together = try model.makeSession(batch: batch, height: height, width: width, threads: 2)
            .run(Tensor(shape: [batch, 3, height, width], values: values))
        let alone = try model.makeSession(batch: 1, height: height, width: width, threads: 2)
        let classes = together.logits.shape[1]
        for n in 0..<batch {
            let one = try alone.run(Tensor(shape: [1, 3, height, width],
                                           values: Array(values[n * image..<(n + 1) * image])))
            XCTAssertEqual(one.logits.values, Array(together.logits.values[n * classes..<(n + 1) * classes]), "image \(n)")
        }
    }

    /// OpenBLAS 0.3.21 may take an AVX-512 CPU for Haswell (it does for some AMD Zen parts);
    /// the engine then switches it to the SkylakeX kernels. Reproduced by forcing Haswell.
    func testMisdetectedCoreIsSwitchedToAVX512Kernels() throws {
        try XCTSkipUnless(vit_cpu_has_avx512() != 0, "this CPU has no AVX-512: nothing to switch to")
        let before = String(cString: vit_blas_core_name())
        defer { _ = vit_blas_choose_core(before) }
        XCTAssertEqual(vit_blas_choose_core("Haswell"), 1)
        XCTAssertEqual(String(cString: vit_blas_core_name()), "Haswell")
        XCTAssertEqual(vit_blas_use_avx512_kernels(), 1)
        XCTAssertEqual(String(cString: vit_blas_core_name()).lowercased(), "skylakex")
        XCTAssertNil(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], "the environment is left as it was")
    }
}
