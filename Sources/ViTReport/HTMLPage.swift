import Foundation

/// `index.html`: the plots (inline SVG) and a readable table, with how and where they were
/// measured. Opens in any browser from the file system; no script, no external resource.
struct HTMLPage {
    let report: Report
    let table: ReportTable
    let plots: [ScatterPlot]

    var html: String {
        let e = SVGElement.escape
        let s = report.settings, m = report.machine
        var out = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>ViTEngine efficiency report</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #111; padding: 0 1em; }
        table { border-collapse: collapse; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
        th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
        th.published, td.published { background: #fff6dd; }
        .status { font-weight: bold; } figure { margin: 1.5em 0; } code { background: #f3f3f3; padding: 1px 4px; }
        </style>
        </head>
        <body>
        <h1>Which vision transformer to favor on this CPU</h1>

        """
        out += "<p class=\"status\">\(e(statusLine))</p>\n"
        out += "<p>Measured on \(e(m.cpu)), \(m.cores) core(s), \(m.memoryBytes >> 30) GiB, \(e(m.operatingSystem)); "
            + "started \(e(report.started)). \(s.threads) thread(s); every measurement is its own process "
            + "(<code>vit bench --json</code>): \(Self.seconds(s.warmupSeconds)) s warm-up, then "
            + "\(Self.seconds(s.durationSeconds)) s timed (at least 3 runs), median throughput. Batch sizes are "
            + "searched by doubling from 1 up to \(s.maxBatch) until the throughput gains "
            + "\(Self.seconds(100 * s.minGain)) % or less, or the next batch would need more than "
            + "\(s.memoryLimitBytes >> 20) MiB.</p>\n"
        out += "<p><strong>Weights:</strong> \(e(report.weightsNote))</p>\n"
        out += "<p><strong>Published, not measured:</strong> the ImageNet-1k top-1 accuracy (highlighted columns) is the "
            + "registry's published figure (source per model in <code>report.json</code>). Parameters and MACs are "
            + "counted from the engine's own graph at each model's registry input size.</p>\n"
        out += "<p>Command: <code>\(e(report.command))</code>. Data: <a href=\"\(ReportFiles.csvName)\">"
            + "\(ReportFiles.csvName)</a>, <a href=\"\(ReportFiles.jsonName)\">\(ReportFiles.jsonName)</a>.</p>\n"
        out += "<h2>Pareto fronts</h2>\n<ul>\n"
        for metric in Metric.allCases {
            let front = report.front(metric)
            let names = report.models.map(\.model).filter(front.contains)
            out += "<li>\(e(metric.title)): \(e(names.isEmpty ? "no model measured" : names.joined(separator: ", ")))</li>\n"
        }
        out += "</ul>\n"
        for (metric, plot) in zip(Metric.allCases, plots) {
            out += "<figure id=\"\(metric.rawValue)\">\n" + plot.element.xml()
                + "<figcaption><a href=\"\(metric.fileName)\">\(metric.fileName)</a></figcaption>\n</figure>\n"
        }
        out += "<h2>Measurements</h2>\n" + measurementTable
        if !report.failures.isEmpty || !report.pending.isEmpty {
            out += "<h2>Not measured</h2>\n<ul>\n"
            for f in report.failures { out += "<li>\(e(f.model)): \(e(f.error))</li>\n" }
            for name in report.pending { out += "<li>\(e(name)): not reached (\(report.status.rawValue))</li>\n" }
            out += "</ul>\n"
        }
        return out + "</body>\n</html>\n"
    }

    private var statusLine: String {
        let measured = report.models.count, total = measured + report.failures.count + report.pending.count
        switch report.status {
        case .complete: return "Complete: \(measured) of \(total) model(s) measured."
        case .running: return "In progress (or stopped without a chance to say so): \(measured) of \(total) model(s) measured."
        case .interrupted: return "Interrupted (Ctrl-C): \(measured) of \(total) model(s) measured."
        }
    }

    /// The columns a reader compares, with units; the CSV has them all.
    private var measurementTable: String {
        let e = SVGElement.escape
        let headers: [(String, Bool)] = [
            ("model", false), ("input", false), ("params (M)", false), ("GMACs", false), ("top-1 % (published)", true),
            ("img/s batch 1", false), ("p50 ms batch 1", false), ("p99 ms batch 1", false), ("best batch", false),
            ("img/s best batch", false), ("arena MiB batch 1", false), ("peak RSS MiB batch 1", false),
            ("peak RSS MiB best batch", false), ("Pareto fronts", false),
        ]
        var out = "<table>\n<tr>" + headers.map { "<th\($0.1 ? " class=\"published\"" : "")>\(e($0.0))</th>" }.joined()
            + "</tr>\n"
        let fronts = Metric.allCases.map { ($0, report.front($0)) }
        for row in report.models {
            let one = row.batch1, best = row.best
            let mib = { (bytes: Int) in String(format: "%.1f", Double(bytes) / 1_048_576) }
            let cells: [(String, Bool)] = [
                (row.model + (row.measuredAs.map { " (measured as \($0): same graph)" } ?? ""), false),
                (row.input, false), (String(format: "%.2f", Double(row.parameters) / 1e6), false),
                (String(format: "%.3f", row.gmacs), false), (row.published.top1.map { String(format: "%.1f", $0) } ?? "not published", true),
                (String(format: "%.1f", one.imagesPerSecond), false), (String(format: "%.2f", one.latencyP50Ms), false),
                (String(format: "%.2f", one.latencyP99Ms), false), ("\(best.batch)", false),
                (String(format: "%.1f", best.imagesPerSecond), false), (mib(one.arenaBytes), false),
                (mib(one.peakRSSBytes), false), (mib(best.peakRSSBytes), false),
                (fronts.filter { $0.1.contains(row.model) }.map(\.0.rawValue).joined(separator: ", "), false),
            ]
            out += "<tr>" + cells.map { "<td\($0.1 ? " class=\"published\"" : "")>\(e($0.0))</td>" }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }

    static func seconds(_ value: Double) -> String { String(format: "%g", value) }
}
