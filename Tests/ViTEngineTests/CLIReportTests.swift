import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ViTEngine

/// `vit report` end to end on one or two small models with short measurements (a few seconds):
/// the files it writes, their well-formedness, its MAC counts, and Ctrl-C.
final class CLIReportTests: XCTestCase {
    private var directory: String!
    /// Short measurements: these tests check the files, not the speed.
    private let quick = ["--duration", "0.2", "--warmup", "0.05", "--threads", "1"]

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "vit-report-cli-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func json(_ name: String = "report.json") throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// CSV lines split into fields (the report's fields hold no commas or quotes).
    private func csv() throws -> [[String]] {
        try String(contentsOfFile: directory + "/report.csv", encoding: .utf8).split(separator: "\r\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    private func assertWellFormedXML(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
        XCTAssertTrue(parser.parse(), "\(name): \(String(describing: parser.parserError))", file: file, line: line)
    }

    func testReportOnOneModelWritesTablesAndPlots() throws {
        let result = try VitProcess.run(["report", "--models", "m0", "--max-batch", "2", "-o", directory] + quick)
        XCTAssertEqual(result.status, 0, result.stderr)
        // Progress per model and per batch size.
        XCTAssertTrue(result.stderr.contains("[1/1] efficientvit_m0 batch 1: "), result.stderr)
        XCTAssertTrue(result.stderr.contains("[1/1] efficientvit_m0 batch 2: "), result.stderr)

        let report = try json()
        XCTAssertEqual(report["status"] as? String, "complete")
        XCTAssertTrue((report["weights_note"] as? String)?.contains("placeholder weights") == true)
        let models = try XCTUnwrap(report["models"] as? [[String: Any]])
        XCTAssertEqual(models.count, 1)
        let row = models[0]
        XCTAssertEqual(row["model"] as? String, "efficientvit_m0")
        let measurements = try XCTUnwrap(row["measurements"] as? [[String: Any]])
        // Batch 1, then batch 2 (the search always tries one doubling when --max-batch allows it).
        XCTAssertEqual(measurements.map { $0["batch"] as? Int }, [1, 2])
        for m in measurements {
            XCTAssertGreaterThan(m["images_per_second"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(m["peak_rss_bytes"] as? Int ?? 0, m["arena_bytes"] as? Int ?? .max)
            XCTAssertEqual(m["threads"] as? Int, 1)
            XCTAssertEqual(m["weights"] as? String, "placeholder")
        }
        let fronts = try XCTUnwrap(report["pareto_fronts"] as? [String: [String]])
        XCTAssertEqual(fronts["throughput"], ["efficientvit_m0"], "a single model is its own front")

        let lines = try csv()
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines[1].count, lines[0].count)
        let field = { (name: String) in lines[1][try XCTUnwrap(lines[0].firstIndex(of: name), name)] }
        XCTAssertEqual(try field("model"), "efficientvit_m0")
        XCTAssertEqual(try field("published_top1"), "63.2")
        XCTAssertEqual(try field("input"), "224x224")
        XCTAssertEqual(try field("parameters"), "\(try Model.placeholder(ModelRegistry.model(named: "m0")).parameterCount)")
        // The report's MACs are the engine graph's, within 2 % of the published 0.079 GMACs.
        XCTAssertEqual(Double(try field("gmacs")) ?? 0, 0.079, accuracy: 0.02 * 0.079)
        XCTAssertTrue(["1", "2"].contains(try field("best_batch")))

        for name in ["throughput", "memory", "parameters", "macs"] { try assertWellFormedXML("\(name)-vs-top1.svg") }
        let html = try String(contentsOfFile: directory + "/index.html", encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 4)
        XCTAssertTrue(html.contains(">efficientvit_m0</text>"), "model named on the points")
        XCTAssertTrue(html.contains("Complete: 1 of 1 model(s) measured."))
    }

    func testCtrlCLeavesTheModelsMeasuredSoFarWritten() throws {
        let running = try VitProcess.start(["report", "--models", "m0", "m1", "m2", "--max-batch", "1", "-o", directory,
                                            "--duration", "0.5", "--warmup", "0.05", "--threads", "1"])
        // Wait until the first model is in the files, then press Ctrl-C (SIGINT to the process).
        let deadline = Date().addingTimeInterval(120)
        var measured = 0
        while measured == 0, Date() < deadline, running.process.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
            measured = ((try? json())?["models"] as? [Any])?.count ?? 0
        }
        XCTAssertEqual(measured, 1, "the first model was written while the run went on")
        running.process.interrupt()
        let result = running.finish()
        XCTAssertEqual(result.status, 130, result.stderr)
        XCTAssertTrue(result.stderr.contains("interrupted: 1 model(s) measured"), result.stderr)

        let report = try json()
        XCTAssertEqual(report["status"] as? String, "interrupted")
        XCTAssertEqual((report["models"] as? [[String: Any]])?.compactMap { $0["model"] as? String }, ["efficientvit_m0"])
        XCTAssertEqual(report["pending"] as? [String], ["efficientvit_m1", "efficientvit_m2"])
        let lines = try csv()
        XCTAssertEqual(lines.count, 2, "header and the one measured model")
        XCTAssertEqual(lines[1].first, "efficientvit_m0")
        for name in ["throughput", "memory", "parameters", "macs"] { try assertWellFormedXML("\(name)-vs-top1.svg") }
        let html = try String(contentsOfFile: directory + "/index.html", encoding: .utf8)
        XCTAssertTrue(html.contains("Interrupted (Ctrl-C): 1 of 3 model(s) measured."))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files left behind")
    }

    /// DeiT-Ti and ViT-Ti are one graph with different weights: measured once, and only the more
    /// accurate one is on the speed front (measuring twice would let noise decide).
    func testModelsWithTheSameGraphShareOneMeasurement() throws {
        let result = try VitProcess.run(["report", "--models", "vit-ti", "deit-ti", "--max-batch", "1", "-o", directory]
                                        + quick)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("[2/2] deit_tiny_patch16_224: same architecture and input size as "
                                             + "vit_tiny_patch16_224"), result.stderr)
        XCTAssertFalse(result.stderr.contains("[2/2] deit_tiny_patch16_224 batch 1"), "not measured again")
        let models = try XCTUnwrap(try json()["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["measured_as"] as? String }, [nil, "vit_tiny_patch16_224"])
        let fronts = try XCTUnwrap(try json()["pareto_fronts"] as? [String: [String]])
        XCTAssertEqual(fronts["throughput"], ["vit_tiny_patch16_224"])
        XCTAssertEqual(fronts["parameters"], ["vit_tiny_patch16_224"])
    }

    func testRealWeightsAreUsedAndSaidSo() throws {
        let pth = Fixtures.path("pth/m0_cream_f16.pth")
        let result = try VitProcess.run(["report", "--models", "m0", "--weights", "m0=\(pth)", "--max-batch", "1",
                                         "-o", directory] + quick)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("weights \(pth)"), result.stderr)
        let report = try json()
        XCTAssertTrue((report["weights_note"] as? String)?.contains("Real weights for efficientvit_m0: \(pth)") == true)
        let lines = try csv()
        XCTAssertEqual(lines[1][try XCTUnwrap(lines[0].firstIndex(of: "weights"))], pth)
    }

    func testBadArgumentsFailBeforeAnythingIsWritten() throws {
        let unknown = try VitProcess.run(["report", "--models", "m0", "nope", "-o", directory])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("unknown model 'nope'"), unknown.stderr)
        let weights = try VitProcess.run(["report", "--models", "m0", "--weights", "m0", "-o", directory])
        XCTAssertNotEqual(weights.status, 0)
        XCTAssertTrue(weights.stderr.contains("MODEL=FILE"), weights.stderr)
        let stray = try VitProcess.run(["report", "--models", "m1", "--weights", "m0=\(Fixtures.path("pth/m0_cream_f16.pth"))",
                                        "-o", directory])
        XCTAssertNotEqual(stray.status, 0)
        XCTAssertTrue(stray.stderr.contains("efficientvit_m0, which is not among the models"), stray.stderr)
        let missing = try VitProcess.run(["report", "--weights", "m0=/nonexistent.pth", "-o", directory])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent.pth"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory))
    }
}
