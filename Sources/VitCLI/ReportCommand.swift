import ArgumentParser
import Foundation
import ViTEngine
import ViTReport

/// `vit report`: the efficiency study of the model zoo on this machine — parameters, MACs,
/// throughput at batch 1 and at the best batch size, latency, memory — against published
/// accuracy, as tables and plots.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Measure every registered model and write report.csv, report.json, SVG plots and index.html.",
        discussion: """
        Each measurement runs `vit bench --json` in its own process, so peak RSS is per model and batch size. \
        Weights are placeholders of the right shapes unless --weights gives a file: speed and memory do not \
        depend on weight values, and top-1 is the published figure, never measured here. The files are \
        rewritten after every model; Ctrl-C stops the run and leaves the models measured so far written.
        """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "Models to measure, by name or alias (default: all registered).")
    var models: [String] = []

    @Option(name: .shortAndLong, help: "Directory for the report's files (created if missing).")
    var output: String = "vit-report"

    @Option(name: .shortAndLong, help: "Threads per measurement (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Measured seconds per model and batch size.")
    var duration: Double = 3

    @Option(name: .long, help: "Warm-up seconds per model and batch size.")
    var warmup: Double = 1

    @Option(name: .long, help: "Largest batch size the search may try (it doubles from 1).")
    var maxBatch: Int = 64

    @Option(name: .long, help: "The search stops once doubling the batch gains this many percent or less.")
    var minGain: Double = 3

    @Option(name: .long, help: "Largest predicted peak RSS of a measurement, MiB (default: half the machine's memory).")
    var memoryLimit: Int?

    @Option(name: .long, help: "Real weights for a model, as MODEL=FILE (repeatable); others get placeholder weights.")
    var weights: [String] = []

    @OptionGroup var kernels: KernelISAOptions

    func validate() throws {
        guard duration >= 0, warmup >= 0 else { throw ValidationError("--duration and --warmup must be ≥ 0 seconds") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be ≥ 1") }
        guard minGain >= 0 else { throw ValidationError("--min-gain must be ≥ 0 (percent)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1") }
        if let memoryLimit, memoryLimit < 1 { throw ValidationError("--memory-limit must be ≥ 1 MiB") }
    }

    func run() throws {
        do {
            try kernels.apply()
            try measureAll()
        } catch let error as EngineError {
            fail(error)
        }
    }

    private func measureAll() throws {
        let selected = try selectedModels()
        let weightFiles = try weightsByModel()
        if let stray = weightFiles.keys.sorted().first(where: { name in !selected.contains { $0.name == name } }) {
            throw ValidationError("--weights names \(stray), which is not among the models to measure")
        }
        let threads = self.threads ?? ProcessInfo.processInfo.activeProcessorCount
        let memoryLimitBytes = memoryLimit.map { $0 << 20 } ?? Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)
        let search = BatchSearch(maxBatch: maxBatch, minGain: minGain / 100, memoryLimitBytes: memoryLimitBytes)
        var report = Report(
            status: .running, started: ISO8601DateFormatter().string(from: Date()), command: commandLine,
            machine: .current(),
            settings: .init(threads: threads, durationSeconds: duration, warmupSeconds: warmup, maxBatch: maxBatch,
                            minGain: minGain / 100, memoryLimitBytes: memoryLimitBytes),
            weightsNote: weightsNote(weightFiles), pending: selected.map(\.name))
        // Written at once, so an unwritable directory fails before minutes of measuring.
        try ReportFiles.write(report, to: output)

        let child = BenchChildProcess()
        child.catchInterrupts()
        log("vit report: \(selected.count) model(s), \(threads) thread(s), \(warmup) s warm-up + \(duration) s "
            + "per batch size, " + (maxBatch == 1 ? "batch size 1 only" : "batch sizes 1, 2, 4, … up to \(maxBatch)")
            + "; writing \(output)/")
        var measuredInfos: [ModelInfo] = []
        for (i, info) in selected.enumerated() {
            let tag = "[\(i + 1)/\(selected.count)] \(info.name)"
            let twin = weightFiles[info.name] == nil ? measuredInfos.first { other in
                other.architecture == info.architecture && other.preprocess.inputSize == info.preprocess.inputSize
                    && weightFiles[other.name] == nil
            } : nil
            let outcome: Outcome
            if let twin, let row = report.models.first(where: { $0.model == twin.name }) {
                log("\(tag): same architecture and input size as \(twin.name): its measurements are used")
                outcome = .measured(row.measurements, stop: row.searchStop, measuredAs: twin.name)
            } else {
                outcome = measure(info, tag: tag, search: search, threads: threads, weights: weightFiles[info.name],
                                  child: child)
            }
            switch outcome {
            case .failed(let message):
                report.pending.removeFirst()
                report.failures.append(.init(model: info.name, error: message))
            case let .measured(measurements, stop, measuredAs):
                report.pending.removeFirst()
                report.models.append(ModelRow(
                    model: info.name, family: info.family, taxonomy: info.taxonomy,
                    input: "\(info.preprocess.height)x\(info.preprocess.width)",
                    published: .init(top1: info.published.top1, paramsMillions: info.published.paramsMillions,
                                     gmacs: info.published.gmacs, source: info.published.source),
                    measurements: measurements, searchStop: stop, measuredAs: measuredAs))
                measuredInfos.append(info)
            case .interrupted:
                return try finishInterrupted(&report)
            }
            try ReportFiles.write(report, to: output)
            if child.interrupted { return try finishInterrupted(&report) }
        }
        report.status = .complete
        try ReportFiles.write(report, to: output)
        for metric in Metric.allCases {
            let front = report.front(metric)
            log("Pareto front of \(metric.rawValue) vs top-1: "
                + report.models.map(\.model).filter(front.contains).joined(separator: ", "))
        }
        log("wrote \(ReportFiles.names.map { "\(output)/\($0)" }.joined(separator: ", "))")
        if !report.failures.isEmpty {
            log("\(report.failures.count) model(s) could not be measured: "
                + report.failures.map(\.model).joined(separator: ", "))
            throw ExitCode(2)
        }
    }

    private enum Outcome {
        case measured([BenchResult], stop: String, measuredAs: String?)
        case failed(String)
        case interrupted
    }

    /// One model: batch 1, then the batch-size search, each measurement in its own `vit bench`.
    private func measure(_ info: ModelInfo, tag: String, search: BatchSearch, threads: Int, weights: String?,
                         child: BenchChildProcess) -> Outcome {
        let started = Date()
        log("\(tag): \(info.preprocess.height)x\(info.preprocess.width), " + (weights.map { "weights \($0)" } ?? "placeholder weights"))
        var measured: [BenchResult] = []
        while true {
            switch search.next(after: measured) {
            case .stop(let reason):
                let best = BatchSearch.best(of: measured) ?? measured[0]
                log("\(tag): best batch \(best.batch), \(String(format: "%.1f", best.imagesPerSecond)) img/s (\(reason)); "
                    + "\(String(format: "%.0f", Date().timeIntervalSince(started))) s")
                return .measured(measured, stop: reason, measuredAs: nil)
            case .measure(let batch):
                switch child.measure(benchArguments(info, batch: batch, threads: threads, weights: weights)) {
                case .measured(let result):
                    measured.append(result)
                    log("\(tag) batch \(batch): " + describe(result, previous: measured.dropLast().last))
                case .failed(let message):
                    log("\(tag) batch \(batch): failed: \(message)")
                    // Batch 1 failing means the model cannot be measured; a larger batch failing
                    // (e.g. an arena above the engine's limit) only ends the search.
                    if measured.isEmpty { return .failed(message) }
                    return .measured(measured, stop: "batch \(batch) failed: \(message)", measuredAs: nil)
                case .interrupted:
                    return .interrupted
                }
            }
        }
    }

    /// Ctrl-C: the files already hold every model measured; say so in them and exit 130.
    private func finishInterrupted(_ report: inout Report) throws {
        report.status = .interrupted
        try ReportFiles.write(report, to: output)
        log("interrupted: \(report.models.count) model(s) measured, written to \(output)/")
        throw ExitCode(130)
    }

    private func benchArguments(_ info: ModelInfo, batch: Int, threads: Int, weights: String?) -> [String] {
        ["--model", info.name, "--batch", "\(batch)", "--threads", "\(threads)",
         "--height", "\(info.preprocess.height)", "--width", "\(info.preprocess.width)",
         "--warmup", "\(warmup)", "--duration", "\(duration)"] + (weights.map { ["--weights", $0] } ?? [])
    }

    private func describe(_ r: BenchResult, previous: BenchResult?) -> String {
        var text = String(format: "%.1f img/s", r.imagesPerSecond)
        if let previous { text += String(format: " (%+.1f%%)", 100 * (r.imagesPerSecond / previous.imagesPerSecond - 1)) }
        return text + String(format: ", p50 %.2f ms, p99 %.2f ms, arena %.1f MiB, peak RSS %.1f MiB, %d runs",
                             r.latencyP50Ms, r.latencyP99Ms, Double(r.arenaBytes) / 1_048_576,
                             Double(r.peakRSSBytes) / 1_048_576, r.runs)
    }

    /// The models to measure, in registry order when none are named, else in the order given.
    private func selectedModels() throws(EngineError) -> [ModelInfo] {
        if models.isEmpty { return ModelRegistry.all }
        var seen = Set<String>()
        var out: [ModelInfo] = []
        for name in models {
            let info = try ModelRegistry.model(named: name)
            if seen.insert(info.name).inserted { out.append(info) }
        }
        return out
    }

    /// `--weights MODEL=FILE` by canonical model name; each file must exist.
    private func weightsByModel() throws -> [String: String] {
        var out: [String: String] = [:]
        for entry in weights {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex, entry.index(after: eq) != entry.endIndex else {
                throw ValidationError("--weights takes MODEL=FILE, e.g. m4=efficientvit_m4.pth; got '\(entry)'")
            }
            let info = try ModelRegistry.model(named: String(entry[..<eq]))
            let file = String(entry[entry.index(after: eq)...])
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw EngineError.fileUnreadable(path: file, reason: "no such readable file (given for \(info.name))")
            }
            out[info.name] = file
        }
        return out
    }

    private func weightsNote(_ files: [String: String]) -> String {
        let placeholder = "placeholder weights of the right shapes (zeros and unit variances): the same graph, "
            + "speed and memory as the trained model, meaningless outputs; no accuracy is measured"
        if files.isEmpty { return "Every model ran with \(placeholder)." }
        let real = files.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        return "Real weights for \(real); every other model ran with \(placeholder)."
    }

    /// This invocation, as a command a user can paste (arguments with spaces or quotes quoted).
    private var commandLine: String {
        (["vit"] + CommandLine.arguments.dropFirst()).map { arg in
            arg.isEmpty || arg.contains(where: { " \"'$\\".contains($0) }) ? "'" + arg.replacingOccurrences(of: "'", with: "'\\''") + "'" : arg
        }.joined(separator: " ")
    }

    private func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
