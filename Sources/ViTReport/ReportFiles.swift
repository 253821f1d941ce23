import Foundation
import ViTEngine

/// The files of a report in one directory: `report.csv`, `report.json`, one SVG plot per
/// ``Metric`` and `index.html`, which shows the plots and the table without any tool but a browser.
public enum ReportFiles {
    public static let csvName = "report.csv"
    public static let jsonName = "report.json"
    public static let htmlName = "index.html"

    /// Every file name the report writes.
    public static var names: [String] { [csvName, jsonName, htmlName] + Metric.allCases.map(\.fileName) }

    /// Writes every file of `report` into `directory` (created if missing), each atomically: a
    /// reader (or a Ctrl-C) never sees a half-written file. The JSON is written last, so when it
    /// says a model is there, every other file has it too.
    public static func write(_ report: Report, to directory: String) throws(EngineError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        let path = { (name: String) in (directory as NSString).appendingPathComponent(name) }
        let table = ReportTable(report)
        try writeFileAtomically(Data(table.csv.utf8), to: path(csvName))
        let plots = Metric.allCases.map { plot($0, of: report) }
        for (metric, plot) in zip(Metric.allCases, plots) {
            try writeFileAtomically(Data(plot.svg.utf8), to: path(metric.fileName))
        }
        try writeFileAtomically(Data(HTMLPage(report: report, table: table, plots: plots).html.utf8), to: path(htmlName))
        try writeFileAtomically(json(report), to: path(jsonName))
    }

    /// The report as pretty-printed JSON with sorted keys (with the Pareto fronts by name).
    static func json(_ report: Report) throws(EngineError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(report)
        } catch {
            throw .writeFailed(path: jsonName, reason: "cannot encode the report: \(error)")
        }
    }

    /// The plot of `metric` against published top-1, with its Pareto front marked.
    public static func plot(_ metric: Metric, of report: Report) -> ScatterPlot {
        let front = report.front(metric)
        // A model without a published top-1 has no place on these axes.
        let points = report.models.compactMap { row in
            row.published.top1.map { top1 in
                ScatterPlot.Point(label: row.model, x: metric.value(of: row), y: top1, group: row.taxonomy,
                                  onFront: front.contains(row.model))
            }
        }
        let subtitle = "\(report.models.count) model(s), \(report.settings.threads) thread(s), \(report.machine.cpu); "
            + "top-1 is published, not measured" + (report.status == .complete ? "" : " — \(report.status.rawValue)")
        return ScatterPlot(title: metric.title, subtitle: subtitle, xTitle: metric.axisTitle,
                           yTitle: "ImageNet-1k top-1 %, published", xScale: .logarithmic, yScale: .linear,
                           dominatedNote: metric.dominatedNote, points: points)
    }
}
