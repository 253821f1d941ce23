/// A quantity plotted against published top-1, with which way is better.
public enum Metric: String, CaseIterable, Sendable {
    case throughput, memory, parameters, macs

    /// The value for `row`, in the unit of ``unit``.
    public func value(of row: ModelRow) -> Double {
        switch self {
        case .throughput: row.best.imagesPerSecond
        case .memory: Double(row.batch1.peakRSSBytes) / 1_048_576
        case .parameters: Double(row.parameters) / 1e6
        case .macs: row.gmacs
        }
    }

    public var preference: Preference { self == .throughput ? .larger : .smaller }

    /// Axis title, saying what was measured and how.
    public var axisTitle: String {
        switch self {
        case .throughput: "images/s at the best batch size (measured, log scale)"
        case .memory: "peak RSS at batch 1, MiB (measured, log scale)"
        case .parameters: "parameters, millions (counted, log scale)"
        case .macs: "GMACs per image (counted from the engine's graph, log scale)"
        }
    }

    public var title: String {
        switch self {
        case .throughput: "Throughput vs ImageNet top-1"
        case .memory: "Inference memory vs ImageNet top-1"
        case .parameters: "Parameters vs ImageNet top-1"
        case .macs: "MACs vs ImageNet top-1"
        }
    }

    /// Why a model off the front is off it.
    public var dominatedNote: String {
        switch self {
        case .throughput: "beaten by a model at least as fast and as accurate"
        case .memory: "beaten by a model needing no more memory and at least as accurate"
        case .parameters: "beaten by a model with no more parameters and at least as accurate"
        case .macs: "beaten by a model needing no more MACs and at least as accurate"
        }
    }

    /// File name of the plot.
    public var fileName: String { "\(rawValue)-vs-top1.svg" }
}
