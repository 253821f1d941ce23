import Foundation

/// The report as one flat table: one row per model, the columns of the CSV file and of the HTML
/// page. Published figures are in columns named `published_…`; everything else was measured or
/// counted on this machine.
public struct ReportTable: Sendable {
    public let columns: [String]
    public let rows: [[String]]

    public init(_ report: Report) {
        let fronts = Metric.allCases.map { report.front($0) }
        columns = [
            "model", "family", "taxonomy", "input", "weights", "measured_as", "threads", "blas_kernel", "kernel_isa",
            "parameters", "gmacs",
            "published_top1", "published_params_millions", "published_gmacs",
            "images_per_second_batch1", "latency_p50_ms_batch1", "latency_p99_ms_batch1",
            "arena_bytes_batch1", "peak_rss_bytes_batch1",
            "best_batch", "images_per_second_best_batch", "latency_p50_ms_best_batch",
            "arena_bytes_best_batch", "peak_rss_bytes_best_batch", "batches_measured",
        ] + Metric.allCases.map { "pareto_\($0.rawValue)" }
        rows = report.models.map { row in
            let one = row.batch1, best = row.best
            return [
                row.model, row.family, row.taxonomy, row.input, one.weights, row.measuredAs ?? "", "\(one.threads)", one.blasKernel, one.isa,
                "\(row.parameters)", Self.number(row.gmacs, digits: 4),
                row.published.top1.map { Self.number($0, digits: 1) } ?? "", Self.number(row.published.paramsMillions, digits: 2),
                Self.number(row.published.gmacs, digits: 3),
                Self.number(one.imagesPerSecond, digits: 1), Self.number(one.latencyP50Ms, digits: 3),
                Self.number(one.latencyP99Ms, digits: 3), "\(one.arenaBytes)", "\(one.peakRSSBytes)",
                "\(best.batch)", Self.number(best.imagesPerSecond, digits: 1), Self.number(best.latencyP50Ms, digits: 3),
                "\(best.arenaBytes)", "\(best.peakRSSBytes)",
                row.measurements.map { "\($0.batch)" }.joined(separator: " "),
            ] + fronts.map { $0.contains(row.model) ? "yes" : "no" }
        }
    }

    /// RFC 4180 CSV: a header line, then one line per model; fields with a comma, quote or line
    /// break are quoted, quotes doubled.
    public var csv: String {
        ([columns] + rows).map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func number(_ value: Double, digits: Int) -> String { String(format: "%.\(digits)f", value) }
}
