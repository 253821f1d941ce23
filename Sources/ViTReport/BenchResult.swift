import Foundation

/// One measurement of `vit bench`: one model, one batch size, one thread count, in one process.
///
/// `vit bench --json` prints one of these per batch size as a JSON line; `vit report` runs
/// `vit bench` as a child process per measurement and decodes the line, so peak RSS is the
/// child's own and both commands measure with the same code.
public struct BenchResult: Codable, Sendable, Equatable {
    /// Registry name of the model.
    public var model: String
    public var batch: Int
    public var threads: Int
    /// Input height × width, e.g. `224x224`.
    public var input: String
    /// `placeholder` (zeros, unit variances: same graph, speed and memory) or the weights file.
    public var weights: String
    /// Parameters of the checkpoint, as timm counts them.
    public var parameters: Int
    /// Multiply-accumulates of one run of the whole batch, counted from the engine's graph.
    public var macs: Int
    /// Median images per second.
    public var imagesPerSecond: Double
    /// Images per second at the 90th percentile of latency (the slow end of the spread).
    public var imagesPerSecondP10: Double
    /// Images per second at the 10th percentile of latency (the fast end of the spread).
    public var imagesPerSecondP90: Double
    /// Median latency of one run (the whole batch), in milliseconds.
    public var latencyP50Ms: Double
    /// 99th-percentile latency of one run, in milliseconds.
    public var latencyP99Ms: Double
    /// Achieved GFLOP/s (2 × MACs per second).
    public var gflops: Double
    /// Bytes of the session's activation arena.
    public var arenaBytes: Int
    /// Peak resident set size of the measuring process (`getrusage`), in bytes.
    public var peakRSSBytes: Int
    /// Load and plan time of the first batch size measured in the process, in milliseconds.
    public var coldStartMs: Double?
    /// The OpenBLAS kernel family in use.
    public var blasKernel: String
    /// The instruction-set tier of the engine's own kernels (`avx512`, `avx2`, `portable`).
    public var isa: String
    /// Timed runs behind the quantiles.
    public var runs: Int

    public init(model: String, batch: Int, threads: Int, input: String, weights: String, parameters: Int, macs: Int,
                imagesPerSecond: Double, imagesPerSecondP10: Double, imagesPerSecondP90: Double,
                latencyP50Ms: Double, latencyP99Ms: Double, gflops: Double, arenaBytes: Int, peakRSSBytes: Int,
                coldStartMs: Double?, blasKernel: String, isa: String, runs: Int) {
        self.model = model
        self.batch = batch
        self.threads = threads
        self.input = input
        self.weights = weights
        self.parameters = parameters
        self.macs = macs
        self.imagesPerSecond = imagesPerSecond
        self.imagesPerSecondP10 = imagesPerSecondP10
        self.imagesPerSecondP90 = imagesPerSecondP90
        self.latencyP50Ms = latencyP50Ms
        self.latencyP99Ms = latencyP99Ms
        self.gflops = gflops
        self.arenaBytes = arenaBytes
        self.peakRSSBytes = peakRSSBytes
        self.coldStartMs = coldStartMs
        self.blasKernel = blasKernel
        self.isa = isa
        self.runs = runs
    }

    enum CodingKeys: String, CodingKey {
        case model, batch, threads, input, weights, parameters, macs
        case imagesPerSecond = "images_per_second", imagesPerSecondP10 = "images_per_second_p10"
        case imagesPerSecondP90 = "images_per_second_p90", latencyP50Ms = "latency_p50_ms"
        case latencyP99Ms = "latency_p99_ms", gflops, arenaBytes = "arena_bytes", peakRSSBytes = "peak_rss_bytes"
        case coldStartMs = "cold_start_ms", blasKernel = "blas_kernel", isa, runs
    }

    /// Multiply-accumulates per image, in billions.
    public var gmacsPerImage: Double { Double(macs) / Double(batch) / 1e9 }

    /// The fields as `key=value` pairs, in a fixed order, for `vit bench`'s plain output.
    public var textLine: String {
        func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
        let fields: [(String, String)] = [
            ("model", model), ("batch", "\(batch)"), ("threads", "\(threads)"), ("input", input),
            ("weights", weights), ("parameters", "\(parameters)"), ("macs", "\(macs)"),
            ("images_per_second", f(imagesPerSecond, 1)), ("images_per_second_p10", f(imagesPerSecondP10, 1)),
            ("images_per_second_p90", f(imagesPerSecondP90, 1)), ("latency_p50_ms", f(latencyP50Ms, 3)),
            ("latency_p99_ms", f(latencyP99Ms, 3)), ("gflops", f(gflops, 1)), ("arena_bytes", "\(arenaBytes)"),
            ("peak_rss_bytes", "\(peakRSSBytes)"), ("cold_start_ms", coldStartMs.map { f($0, 1) } ?? "-"),
            ("blas_kernel", blasKernel), ("isa", isa), ("runs", "\(runs)"),
        ]
        return fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }

    /// One line of JSON (keys sorted, so lines diff cleanly). Throws only for a non-finite number.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
