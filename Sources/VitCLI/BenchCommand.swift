import ArgumentParser
import Foundation
import ViTEngine

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

    @Option(name: .long, help: "Input height.")
    var height: Int = 224

    @Option(name: .long, help: "Input width.")
    var width: Int = 224

    @Option(name: .shortAndLong, help: "Weights file (timing does not depend on weight values).")
    var weights: String?

    @Option(name: .long, help: "Warm-up seconds per batch size.")
    var warmup: Double = 1

    @Option(name: .long, help: "Measured seconds per batch size.")
    var duration: Double = 3

    @Flag(name: .long, help: "Print one JSON object per batch size.")
    var json = false

    @Flag(name: .long, help: "Also print where the time goes, per kind of layer.")
    var profile = false

    func run() throws {
        do {
            let start = Date()
            let info = try ModelRegistry.model(named: model)
            let net = try weights.map { try Model.load(model, weights: $0) } ?? Model.placeholder(info)
            var first = true
            for b in batch {
                let session = try net.makeSession(batch: b, height: height, width: width, threads: threads)
                let coldStart = first ? Date().timeIntervalSince(start) : nil
                first = false
                let input = Tensor(shape: session.inputShape,
                                   values: (0..<(b * 3 * height * width)).map { Float(($0 * 7919) % 255) / 64 - 2 })
                let warmEnd = Date().addingTimeInterval(warmup)
                while Date() < warmEnd { _ = try session.run(input) }
                if profile { session.startProfiling() }
                var latencies: [Double] = []
                let end = Date().addingTimeInterval(duration)
                repeat {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try session.run(input)
                    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                } while Date() < end || latencies.count < 3
                report(net: net, session: session, batch: b, latencies: latencies, coldStart: coldStart)
                if profile {
                    let total = session.profile.reduce(0) { $0 + $1.seconds }
                    for p in session.profile {
                        print(String(format: "  %-20@ %5.1f%%  %8.3f ms/run  %6.1f GFLOP/s", p.layer as NSString,
                                     100 * p.seconds / total, 1e3 * p.seconds / Double(latencies.count),
                                     2 * Double(p.macs) * Double(latencies.count) / p.seconds / 1e9))
                    }
                }
            }
        } catch let error as EngineError {
            fail(error)
        }
    }

    private func report(net: Model, session: InferenceSession, batch: Int, latencies: [Double], coldStart: Double?) {
        let sorted = latencies.sorted()
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
        let median = quantile(0.5)
        let imagesPerSecond = Double(batch) / median
        let gflops = 2 * Double(session.macs) / median / 1e9
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let fields: [(String, String)] = [
            ("model", "\"\(net.info.name)\""), ("batch", "\(batch)"), ("threads", "\(session.threads)"), ("input", "\"\(height)x\(width)\""),
            ("images_per_second", String(format: "%.1f", imagesPerSecond)),
            ("images_per_second_p10", String(format: "%.1f", Double(batch) / quantile(0.9))),
            ("images_per_second_p90", String(format: "%.1f", Double(batch) / quantile(0.1))),
            ("latency_p50_ms", String(format: "%.3f", median * 1e3)),
            ("latency_p99_ms", String(format: "%.3f", quantile(0.99) * 1e3)),
            ("gflops", String(format: "%.1f", gflops)),
            ("arena_bytes", "\(session.arenaBytes)"), ("peak_rss_bytes", "\(usage.ru_maxrss * 1024)"),
            ("cold_start_ms", coldStart.map { String(format: "%.1f", $0 * 1e3) } ?? "null"),
            ("blas_kernel", "\"\(BLASRuntime.configuration.kernel)\""), ("runs", "\(latencies.count)"),
        ]
        if json {
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            print(fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        }
    }
}
