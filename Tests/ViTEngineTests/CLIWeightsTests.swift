import Foundation
import XCTest
@testable import ViTEngine

/// `vit convert`, `vit fetch` and `vit run` without `--weights`, run as a user runs them.
final class CLIWeightsTests: XCTestCase {
    private var directory: URL!
    private var server: LocalHTTPServer!

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
        let checkpoint = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pth/m0_cream_f16.pth")))
        server = try LocalHTTPServer(routes: ["/efficientvit_m0.pth": .body(checkpoint)])
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func vit(_ arguments: [String], environment: [String: String] = [:]) throws -> VitProcess.Result {
        try VitProcess.run(arguments, environment: environment)
    }

    /// The m0_224_b2 parity input, and a check of logits against its reference.
    private func writeInput() throws -> FixtureCase {
        let c = Fixtures.fixtureCase("m0_224_b2")
        let shape = [c.batch, 3, c.height, c.width]
        try NPY.write(Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: c.inputSeed)), path: path("input.npy"))
        return c
    }

    private func assertReferenceLogits(_ c: FixtureCase, file: StaticString = #filePath, line: UInt = #line) throws {
        let logits = try NPY.read(path: path("logits.npy")), reference = try NPY.read(path: Fixtures.path(c.logits))
        let scale = reference.values.map(abs).max()!
        XCTAssertLessThanOrEqual(zip(logits.values, reference.values).map { abs($0 - $1) }.max()!, 1e-4 * scale, file: file, line: line)
    }

    func testConvertThenRunGivesReferenceLogits() throws {
        let c = try writeInput()
        let convert = try vit(["convert", Fixtures.path("pth/m0_cream_f16.pth"), path("m0.safetensors")])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        XCTAssertTrue(convert.stdout.contains("efficientvit_m0, 580 tensors (F16), timm layout"), convert.stdout)
        XCTAssertEqual(try SafeTensorsFile(path: path("m0.safetensors")).metadata["layout"], "timm")
        let run = try vit(["run", "-m", "m0", "-w", path("m0.safetensors"), "-i", path("input.npy"), "-o", path("logits.npy")])
        XCTAssertEqual(run.status, 0, run.stderr)
        try assertReferenceLogits(c)
    }

    func testRunReadsAPthDirectly() throws {
        let c = try writeInput()
        let run = try vit(["run", "-m", "m0", "-w", Fixtures.path("pth/m0_cream_f16.pth"), "-i", path("input.npy"), "-o", path("logits.npy")])
        XCTAssertEqual(run.status, 0, run.stderr)
        try assertReferenceLogits(c)
    }

    func testFetchThenRunWithoutWeightsUsesTheCache() throws {
        let c = try writeInput()
        let cache = path("cache")
        let url = server.url("/efficientvit_m0.pth").absoluteString
        // The cache directory comes from VIT_ENGINE_CACHE here, and from --cache-dir below.
        let fetch = try vit(["fetch", "--model", "m0", "--url", url], environment: ["VIT_ENGINE_CACHE": cache])
        XCTAssertEqual(fetch.status, 0, fetch.stderr)
        XCTAssertEqual(fetch.stdout, cache + "/efficientvit_m0/official-efficientvit_m0.pth\n")
        XCTAssertTrue(fetch.stderr.contains("downloaded and verified"), fetch.stderr)
        XCTAssertFalse(fetch.stderr.contains("\r"), "no progress bar when stderr is not a terminal")

        let run = try vit(["run", "--model", "m0", "--cache-dir", cache, "--url", url, "-i", path("input.npy"), "-o", path("logits.npy")])
        XCTAssertEqual(run.status, 0, run.stderr)
        try assertReferenceLogits(c)
        XCTAssertEqual(server.requests, ["/efficientvit_m0.pth"], "run must reuse the fetched file")
    }

    /// Two `vit fetch` processes at once: both succeed with the same file, downloaded once.
    func testTwoProcessesFetchingAtOnceShareOneDownload() throws {
        let checkpoint = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pth/m0_cream_f16.pth")))
        server.setRoute("/slow.pth", .body(checkpoint, chunk: 256 << 10, pause: 0.05))
        let arguments = ["fetch", "-m", "m0", "--cache-dir", path("cache"), "--url", server.url("/slow.pth").absoluteString]
        let running = try [launch(arguments), launch(arguments)]  // both start before either is awaited
        let results = running.map { $0() }
        for result in results {
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout, path("cache") + "/efficientvit_m0/official-efficientvit_m0.pth\n")
        }
        XCTAssertEqual(results.filter { $0.stderr.contains("downloaded and verified") }.count, 1, results.map(\.stderr).joined())
        XCTAssertEqual(server.requests, ["/slow.pth"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("cache") + "/efficientvit_m0/official-efficientvit_m0.pth")), checkpoint)
    }

    /// Starts `vit` and returns a function that waits for it (so several can run at once).
    private func launch(_ arguments: [String]) throws -> () -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("vit")
        process.arguments = arguments
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vit-out-\(UUID().uuidString)")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("vit-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        return {
            process.waitUntilExit()
            defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
            let read = { (url: URL) in String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self) }
            return (process.terminationStatus, read(out), read(err))
        }
    }

    func testFetchFailureSaysWhereToPutTheFile() throws {
        let url = server.url("/absent.pth").absoluteString
        let result = try vit(["fetch", "-m", "m0", "--cache-dir", path("cache"), "--url", url])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("cannot download \(url): the server answered HTTP 404"), result.stderr)
        XCTAssertTrue(result.stderr.contains(path("cache") + "/efficientvit_m0/official-efficientvit_m0.pth"), result.stderr)
        XCTAssertFalse(result.stderr.contains("Fatal error"))
    }
}
