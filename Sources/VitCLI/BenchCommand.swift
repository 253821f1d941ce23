import ArgumentParser
import Foundation
import ViTEngine
import ViTReport

/// `vit bench`: throughput and latency of the engine on this machine.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure images/s and latency (placeholder weights unless --weights is given)."
    )

    @Option(name: .shortAndLong, help: "Model name or alias.")
    var model: String

    @Option(name: .shortAndLong, parsing: .upToNextOption, help: "Batch sizes.")
    var batch: [Int] = [1, 16]

    @Option(name: .shortAndLong, help: "Threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Input height (default: the model's registry input size).")
    var height: Int?

    @Option(name: .long, help: "Input width (default: the model's registry input size).")
    var width: Int?

    @Option(name: .shortAndLong, help: "Weights file (timing does not depend on weight values).")
    var weights: String?

    @Option(name: .long, help: "Warm-up seconds per batch size.")
    var warmup: Double = 1

    @Option(name: .long, help: "Measured seconds per batch size (at least 3 runs are timed).")
    var duration: Double = 3

    @Flag(name: .long, help: "Print one JSON object per batch size.")
    var json = false

    @Flag(name: .long, help: "Also print where the time goes, per kind of layer.")
    var profile = false

    @Option(name: .long, help: "Also print the N slowest layers by name (implies --profile).")
    var profileLayers: Int?

    @OptionGroup var kernels: KernelISAOptions

    private var profiling: Bool { profile || profileLayers != nil }

    func validate() throws {
        if let n = profileLayers, n < 1 { throw ValidationError("--profile-layers must be ≥ 1") }
        guard warmup >= 0, duration >= 0 else { throw ValidationError("--warmup and --duration must be ≥ 0 seconds") }
    }

    func run() throws {
        do {
            try kernels.apply()
            let start = Date()
            let info = try ModelRegistry.model(named: model)
            let net = try weights.map { try Model.load(model, weights: $0) } ?? Model.placeholder(info)
            let height = self.height ?? info.preprocess.height, width = self.width ?? info.preprocess.width
            var first = true
            for b in batch {
                let session = try net.makeSession(batch: b, height: height, width: width, threads: threads)
                let coldStart = first ? Date().timeIntervalSince(start) : nil
                first = false
                let input = Tensor(shape: session.inputShape,
                                   values: (0..<(b * 3 * height * width)).map { Float(($0 * 7919) % 255) / 64 - 2 })
                let warmEnd = Date().addingTimeInterval(warmup)
                while Date() < warmEnd { _ = try session.run(input) }
                if profiling { session.startProfiling() }
                var latencies: [Double] = []
                let end = Date().addingTimeInterval(duration)
                repeat {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try session.run(input)
                    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                } while Date() < end || latencies.count < 3
                let result = measurement(net: net, session: session, batch: b, latencies: latencies,
                                         coldStart: coldStart, input: "\(height)x\(width)")
                print(try json ? result.jsonLine() : result.textLine)
                if profiling {
                    let runs = Double(latencies.count)
                    let total = session.profile.reduce(0) { $0 + $1.seconds }
                    func line(_ name: String, _ seconds: Double, _ macs: Int) -> String {
                        String(format: "  %-32@ %5.1f%%  %8.3f ms/run  %6.1f GFLOP/s", name as NSString,
                               100 * seconds / total, 1e3 * seconds / runs, 2 * Double(macs) * runs / seconds / 1e9)
                    }
                    for p in session.profile { print(line(p.layer, p.seconds, p.macs)) }
                    if let count = profileLayers {
                        print("  slowest layers:")
                        for p in session.layerProfile.sorted(by: { $0.seconds > $1.seconds }).prefix(count) {
                            print(line("\(p.layer) (\(p.kind))", p.seconds, p.macs))
                        }
                    }
                }
            }
        } catch let error as EngineError {
            fail(error)
        }
    }

    private func measurement(net: Model, session: InferenceSession, batch: Int, latencies: [Double],
                             coldStart: Double?, input: String) -> BenchResult {
        let sorted = latencies.sorted()
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
        // Rounded to what the spread of a timing supports, so the JSON stays readable.
        func rounded(_ x: Double, _ digits: Double) -> Double { (x * digits).rounded() / digits }
        let median = quantile(0.5)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return BenchResult(
            model: net.info.name, batch: batch, threads: session.threads, input: input,
            weights: weights ?? "placeholder", parameters: net.parameterCount, macs: session.macs,
            imagesPerSecond: rounded(Double(batch) / median, 10),
            imagesPerSecondP10: rounded(Double(batch) / quantile(0.9), 10),
            imagesPerSecondP90: rounded(Double(batch) / quantile(0.1), 10),
            latencyP50Ms: rounded(median * 1e3, 1000), latencyP99Ms: rounded(quantile(0.99) * 1e3, 1000),
            gflops: rounded(2 * Double(session.macs) / median / 1e9, 10),
            arenaBytes: session.arenaBytes, peakRSSBytes: usage.ru_maxrss * 1024,
            coldStartMs: coldStart.map { rounded($0 * 1e3, 10) }, blasKernel: BLASRuntime.configuration.kernel,
            isa: KernelISA.current.rawValue, runs: latencies.count)
    }
}
