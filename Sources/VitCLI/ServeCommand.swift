import ArgumentParser
import Foundation
import Logging
import Prometheus
import ViTEngine
import ViTImages
import ViTServer
import ViTServing

/// `vit serve`: the HTTP service (Sources/ViTServer), configured from the command line.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP: classify and embed JPEG/PNG images, with dynamic batching.",
        discussion: """
            Endpoints: POST /v1/classify[?top=K][&model=NAME] and POST /v1/embed[?model=NAME] take \
            an image as the raw request body or as the 'image' field of a multipart/form-data \
            upload; GET /v1/models, GET /healthz, GET /metrics (Prometheus). Concurrent requests \
            are run together in batches of up to --max-batch, waiting at most --max-wait-ms for a \
            batch to fill. When --max-queue requests are waiting, new ones get 503 with Retry-After \
            at once. SIGTERM or SIGINT: stop accepting, answer the accepted requests, exit 0.

            Weights: --weights FILE per --model (in the same order), else the cache (downloaded \
            into it once, as `vit run` does).
            """
    )

    @Option(name: .shortAndLong, help: "Model name or alias (repeat to serve several; the first is the default).")
    var model: [String] = []

    @Option(name: .shortAndLong, help: "Weights file for each --model, in order (default: the cache).")
    var weights: [String] = []

    @OptionGroup var pretrained: WeightOptions

    @Flag(name: .long, help: "Serve placeholder weights (zeros): MEANINGLESS outputs, for load testing without a checkpoint.")
    var placeholderWeights = false

    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "TCP port (0: any free port).")
    var port = 8080

    @Option(name: .long, help: "Largest batch of concurrent requests run together (1: no batching).")
    var maxBatch = 8

    @Option(name: .long, help: "Longest wait, in milliseconds, for a batch to fill.")
    var maxWaitMs: Double = 2

    @Option(name: .long, help: "Requests that may wait per model; beyond it, 503 with Retry-After.")
    var maxQueue = 256

    @Option(name: .long, help: "Seconds a request may take (queued and running) before it fails with 503.")
    var timeout: Double = 30

    @Option(name: .long, help: "Largest request body, in bytes.")
    var maxBodyBytes = 16 << 20

    @Option(name: .long, help: "Seconds a connection may send nothing (idle keep-alive, or stalled mid-request) before it is closed (0: never).")
    var idleTimeout: Double = 30

    @Option(name: .long, help: "Seconds within which a request must arrive whole, from the connection's start or the previous response (0: no limit).")
    var requestReadTimeout: Double = 60

    @Option(name: .long, help: "Connections held at once; one more is closed as it opens (0: no cap).")
    var maxConnections = 1024

    @Option(name: .long, help: "Seconds a shutdown (SIGTERM) may take before open connections are cut and queued requests fail (0: no limit).")
    var shutdownGrace: Double = 25

    @Option(name: .long, help: "Largest image, in pixels (decompression-bomb guard).")
    var maxPixels = ImageDecoder.defaultMaximumPixels

    @Option(name: .long, help: "Pixels decoded at once across all requests and models (default: --max-pixels); a request waits for its image's share.")
    var decodeBudget: Int?

    @Option(name: .long, help: "Batch workers per model, each with its own sessions.")
    var workers = 1

    @Option(name: .long, help: "Engine threads per worker (default: the cores shared among the workers).")
    var threads: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    var models: [String] { model.isEmpty ? ["m0"] : model }

    @OptionGroup var kernels: KernelISAOptions

    /// The longest any of the time options may be (a week): beyond it a value is a mistake, and
    /// converting it to a duration would overflow.
    static let longestSeconds = 7 * 86_400.0

    func validate() throws {
        guard weights.isEmpty || weights.count == models.count else {
            throw ValidationError("give one --weights per --model (\(models.count) model(s), \(weights.count) weights file(s))")
        }
        guard !(placeholderWeights && !weights.isEmpty) else {
            throw ValidationError("--placeholder-weights and --weights exclude each other")
        }
        guard models.count == 1 || (pretrained.url == nil && pretrained.sha256 == nil) else {
            throw ValidationError("--url and --sha256 apply to a single --model")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard maxWaitMs >= 0, maxWaitMs <= Self.longestSeconds * 1000 else {
            throw ValidationError("--max-wait-ms must be at least 0 and at most \(Int(Self.longestSeconds * 1000))")
        }
        guard timeout > 0, timeout <= Self.longestSeconds else {
            throw ValidationError("--timeout must be positive and at most \(Int(Self.longestSeconds)) s")
        }
        guard maxBodyBytes >= 1 else { throw ValidationError("--max-body-bytes must be at least 1") }
        guard idleTimeout >= 0, idleTimeout <= Self.longestSeconds else {
            throw ValidationError("--idle-timeout must be 0 (never) or positive, at most \(Int(Self.longestSeconds)) s")
        }
        guard shutdownGrace >= 0, shutdownGrace <= Self.longestSeconds else {
            throw ValidationError("--shutdown-grace must be 0 (no limit) or positive, at most \(Int(Self.longestSeconds)) s")
        }
        guard maxConnections >= 0 else { throw ValidationError("--max-connections must be 0 (no cap) or positive") }
        guard requestReadTimeout >= 0, requestReadTimeout <= Self.longestSeconds else {
            throw ValidationError("--request-read-timeout must be 0 (no limit) or positive, at most \(Int(Self.longestSeconds)) s")
        }
        if let decodeBudget, decodeBudget < maxPixels {
            throw ValidationError("--decode-budget (\(decodeBudget)) must be at least --max-pixels (\(maxPixels)), or the largest accepted image could never be decoded")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var logger = Logger(label: "vit.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let registry = PrometheusCollectorRegistry()
        let serving = ServingConfiguration(
            maxBatchSize: maxBatch, maxWait: .microseconds(Int64((maxWaitMs * 1000).rounded())), maxQueueDepth: maxQueue,
            requestTimeout: .milliseconds(Int64((timeout * 1000).rounded())), workers: workers, threadsPerWorker: threads,
            maximumPixels: maxPixels, decodeBudget: DecodeBudget(pixels: decodeBudget ?? maxPixels),
            metricsFactory: InferenceServer.metricsFactory(registry: registry))
        if placeholderWeights {
            FileHandle.standardError.write(Data("""
                WARNING: --placeholder-weights: every model runs with placeholder weights (zeros). \
                Its answers are MEANINGLESS; use this only to load-test the server.\n
                """.utf8))
        }
        var services: [InferenceService] = []
        do {
            try kernels.apply()
            for (index, name) in models.enumerated() {
                let info = try ModelRegistry.model(named: name)
                let net = placeholderWeights ? try Model.placeholder(info)
                    : try Model.load(info.name, weights: weights.isEmpty ? pretrained.resolve(info).path : weights[index])
                services.append(try InferenceService(model: net, configuration: serving))
            }
        } catch let error as EngineError {
            fail(error)
        } catch let error as ServingError {
            failImages(message: error.description)
        }
        let server: InferenceServer
        do {
            server = try InferenceServer(
                services: services,
                configuration: ServerConfiguration(host: host, port: port, maxBodyBytes: maxBodyBytes,
                                                   idleTimeout: idleTimeout > 0 ? .milliseconds(Int(idleTimeout * 1000)) : nil,
                                                   requestReadTimeout: requestReadTimeout > 0
                                                       ? .milliseconds(Int(requestReadTimeout * 1000)) : nil,
                                                   maxConnections: maxConnections > 0 ? maxConnections : nil,
                                                   shutdownGracePeriod: shutdownGrace > 0 ? .milliseconds(Int64((shutdownGrace * 1000).rounded())) : nil),
                metrics: registry)
        } catch {
            failImages(message: error.description)
        }
        let names = services.map(\.model.info.name).joined(separator: ", ")
        let host = host
        try await server.run(logger: logger) { port in
            // One line on standard output once the port is bound (scripts and tests wait for it).
            FileHandle.standardOutput.write(Data("vit serve: listening on http://\(host):\(port) (\(names))\n".utf8))
        }
    }
}
