import Foundation
import XCTest
@testable import ViTEngine

/// Runs the real `vit` executable the way a user does.
final class CLITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func vit(_ arguments: [String]) throws -> VitProcess.Result { try VitProcess.run(arguments) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testRunWritesReferenceLogitsAndFeatures() throws {
        let c = Fixtures.fixtureCase("m0_224_b2")
        let shape = [c.batch, 3, c.height, c.width]
        try NPY.write(Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: c.inputSeed)),
                      path: path("input.npy"))
        let result = try vit(["run", "--model", "m0", "--weights", Fixtures.path(c.weightsFile!),
                              "--input", path("input.npy"), "--output", path("logits.npy"),
                              "--features", path("features.npy")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let logits = try NPY.read(path: path("logits.npy"))
        let reference = try NPY.read(path: Fixtures.path(c.logits))
        XCTAssertEqual(logits.shape, [2, 1000])
        let scale = reference.values.map(abs).max()!
        XCTAssertLessThanOrEqual(zip(logits.values, reference.values).map { abs($0 - $1) }.max()!, 1e-4 * scale)
        XCTAssertEqual(try NPY.read(path: path("features.npy")).shape, [2, 192])
    }

    func testErrorsExitNonZeroWithAMessageAndNoOutputFile() throws {
        try NPY.write(Tensor(zeros: [1, 4, 32, 32]), path: path("four-channels.npy"))
        let weights = Fixtures.path("pth/m0_cream_f16.pth")
        let cases: [([String], String)] = [
            (["run", "-m", "m0", "-w", path("absent.safetensors"), "-i", path("four-channels.npy"), "-o", path("out.npy")],
             "absent.safetensors"),
            (["run", "-m", "m0", "-w", weights, "-i", path("four-channels.npy"), "-o", path("out.npy")],
             "[1, 4, 32, 32]"),
            (["run", "-m", "m7", "-w", weights, "-i", path("four-channels.npy"), "-o", path("out.npy")],
             "unknown model 'm7'"),
            (["run", "-m", "m1", "-w", weights, "-i", path("four-channels.npy"), "-o", path("out.npy")],
             "holds the weights of efficientvit_m0, not efficientvit_m1"),
        ]
        for (arguments, expected) in cases {
            let result = try vit(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.npy")))
        }
    }

    func testModelsListsEveryVariant() throws {
        let result = try vit(["models"])
        XCTAssertEqual(result.status, 0)
        for i in 0...5 { XCTAssertTrue(result.stdout.contains("efficientvit_m\(i)")) }
    }
}
