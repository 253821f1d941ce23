import Foundation
import XCTest
@testable import ViTReport

final class ReportFilesTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "vit-report-test-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testWritesEveryFileWellFormed() throws {
        let report = Samples.report()
        try ReportFiles.write(report, to: directory + "/nested")
        let dir = directory + "/nested/"
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), Set(ReportFiles.names),
                       "exactly the report's files, no temporary ones left")

        // JSON: decodes back to the same report, with the fronts by name.
        let json = try Data(contentsOf: URL(fileURLWithPath: dir + ReportFiles.jsonName))
        XCTAssertEqual(try JSONDecoder().decode(Report.self, from: json), report)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        let fronts = try XCTUnwrap(object["pareto_fronts"] as? [String: [String]])
        XCTAssertEqual(fronts["throughput"], ["efficientvit_m0", "efficientvit_m2", "deit_small"])
        XCTAssertEqual(fronts["memory"], ["efficientvit_m0", "efficientvit_m2", "slow_model", "deit_small"])
        XCTAssertEqual(Set(fronts.keys), Set(Metric.allCases.map(\.rawValue)))

        // CSV: a header and one line per model, every line as many fields as the header.
        let csv = try String(contentsOfFile: dir + ReportFiles.csvName, encoding: .utf8)
        let lines = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(lines.count, 1 + report.models.count)
        let header = lines[0].map(String.init)
        for line in lines { XCTAssertEqual(line.count, header.count) }
        let column = { (name: String) in try XCTUnwrap(header.firstIndex(of: name), name) }
        XCTAssertEqual(String(lines[4][try column("model")]), "deit_small")
        XCTAssertEqual(String(lines[4][try column("published_top1")]), "79.9")
        XCTAssertEqual(String(lines[4][try column("best_batch")]), "2")
        XCTAssertEqual(String(lines[4][try column("images_per_second_batch1")]), "40.0")
        XCTAssertEqual(String(lines[4][try column("gmacs")]), "4.6000")
        XCTAssertEqual(String(lines[3][try column("pareto_throughput")]), "no")
        XCTAssertEqual(String(lines[3][try column("pareto_memory")]), "yes")
        XCTAssertFalse(header.contains("top1"), "accuracy only in a column marked published")

        // Each SVG is well-formed XML; the page embeds all four and names the weights.
        for metric in Metric.allCases {
            let svg = try String(contentsOfFile: dir + metric.fileName, encoding: .utf8)
            XCTAssertEqual(XMLElements.parse(svg).names.first, "svg")
        }
        let html = try String(contentsOfFile: dir + ReportFiles.htmlName, encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, Metric.allCases.count)
        for svg in html.components(separatedBy: "<svg ").dropFirst() {
            let element = "<svg " + svg.components(separatedBy: "</svg>")[0] + "</svg>"
            XCTAssertEqual(XMLElements.parse(element).names.first, "svg")
        }
        XCTAssertTrue(html.contains("placeholder weights"))
        XCTAssertTrue(html.contains("top-1 % (published)"))
        XCTAssertTrue(html.contains("broken_model"), "failures are listed")
        XCTAssertTrue(html.contains("Test CPU &lt;fast&gt; &amp; &quot;quoted&quot;"), "escaped")
    }

    func testAnEmptyReportStillMakesValidFiles() throws {
        // Written before the first model is measured, and after a Ctrl-C during it.
        let report = Samples.report(status: .interrupted, models: [])
        try ReportFiles.write(report, to: directory)
        let json = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + ReportFiles.jsonName))
        XCTAssertEqual(try JSONDecoder().decode(Report.self, from: json).status, .interrupted)
        let csv = try String(contentsOfFile: directory + "/" + ReportFiles.csvName, encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\r\n").count, 1)
        for metric in Metric.allCases {
            _ = XMLElements.parse(try String(contentsOfFile: directory + "/" + metric.fileName, encoding: .utf8))
        }
    }

    func testCSVQuotesFieldsThatNeedIt() {
        XCTAssertEqual(ReportTable.csvField("plain"), "plain")
        XCTAssertEqual(ReportTable.csvField("a,b"), "\"a,b\"")
        XCTAssertEqual(ReportTable.csvField("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(ReportTable.csvField("two\nlines"), "\"two\nlines\"")
    }

    func testAnUnwritableDirectoryIsATypedError() {
        XCTAssertThrowsError(try ReportFiles.write(Samples.report(), to: "/proc/vit-report")) { error in
            XCTAssertTrue("\(error)".contains("/proc/vit-report"), "\(error)")
        }
    }
}
