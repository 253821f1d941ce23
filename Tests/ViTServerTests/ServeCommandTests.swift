import Foundation
import XCTest

/// `vit serve` as a user runs it: the real executable, its port on standard output, SIGTERM.
final class ServeCommandTests: XCTestCase {
    /// The `vit` executable SwiftPM builds next to the test bundle.
    private var vit: URL { Bundle.main.bundleURL.appendingPathComponent("vit") }

    func testServeAnswersRequestsAndExitsCleanlyOnSIGTERM() async throws {
        let process = Process()
        process.executableURL = vit
        process.arguments = ["serve", "--port", "0", "--weights", Fixtures.weightsPath, "--max-batch", "4",
                             "--max-wait-ms", "1", "--log-level", "warning"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.interrupt(); process.waitUntilExit() } }

        let line = await Self.firstLine(of: output.fileHandleForReading)
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.prefix { $0.isNumber }) }),
              line.hasPrefix("vit serve: listening on http://127.0.0.1:") else {
            let stderr = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            return XCTFail("no 'listening' line; stdout: '\(line)', stderr: \(stderr)")
        }
        XCTAssertTrue(line.hasSuffix("(efficientvit_m0)"), line)

        let health = try await TestHTTPClient.send(port: port, "GET", "/healthz")
        XCTAssertEqual(health.status, 200, health.text)
        let reply = try await TestHTTPClient.send(port: port, "POST", "/v1/classify?top=2", body: Fixtures.image("chelsea.jpg"))
        XCTAssertEqual(reply.status, 200, reply.text)
        let local = try Fixtures.service()
        let expected = try await local.classify(Fixtures.image("chelsea.jpg"), top: 2)
        await local.shutdown()
        XCTAssertEqual((reply.json["classes"] as? [[String: Any]])?.map { $0["index"] as? Int }, expected.indices)

        process.terminate()  // SIGTERM
        try await eventually("vit serve exits after SIGTERM", timeout: .seconds(30)) { !process.isRunning }
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self))
        XCTAssertTrue(TestHTTPClient.isRefused(port: port))
    }

    func testServeRefusesMismatchedWeightsAndModels() throws {
        let cases: [([String], String)] = [
            (["--model", "m0", "--model", "m1", "--weights", Fixtures.weightsPath],
             "give one --weights per --model (2 model(s), 1 weights file(s))"),
            // Beyond a week a time option is a mistake (and would overflow as a duration).
            (["--model", "m0", "--placeholder-weights", "--shutdown-grace", "1e17"], "--shutdown-grace must be 0 (no limit) or positive"),
            (["--model", "m0", "--placeholder-weights", "--timeout", "inf"], "--timeout must be positive"),
        ]
        for (arguments, expected) in cases {
            let process = Process()
            process.executableURL = vit
            process.arguments = ["serve"] + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = Pipe()
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertNotEqual(process.terminationStatus, 0, "\(arguments)")
            XCTAssertTrue(message.contains(expected), message)
            XCTAssertFalse(message.contains("Fatal error"), message)
        }
    }

    /// The first line the process writes (read on a thread of its own; empty at end of file).
    private static func firstLine(of handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            Thread {
                var bytes = Data()
                while !bytes.contains(UInt8(ascii: "\n")) {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    bytes += chunk
                }
                let text = String(decoding: bytes, as: UTF8.self)
                continuation.resume(returning: String(text.split(separator: "\n").first ?? ""))
            }.start()
        }
    }
}
