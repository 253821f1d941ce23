import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import ViTEngine
import ViTImages
import ViTServer
@testable import ViTServing
import XCTest

/// The committed fixture checkpoint and test photos (referenced in place, not copied).
enum Fixtures {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let weightsPath = tests.appendingPathComponent("ViTEngineTests/Fixtures/pth/m0_cream_f16.pth").path
    static let photos = ["chelsea.jpg", "coffee.jpg", "astronaut.png", "rocket.jpg"]

    static func image(_ name: String) -> Data {
        try! Data(contentsOf: tests.appendingPathComponent("ViTImagesTests/Fixtures/\(name)"))
    }

    /// M0 with the fixture's random weights, loaded once for all tests (a `Model` is shared freely).
    static let m0: Model = try! Model.load("m0", weights: weightsPath)

    /// A service on the fixture model; `gate`, when given, holds every batch until it opens.
    static func service(_ configuration: ServingConfiguration = ServingConfiguration(), gate: BatchGate? = nil,
                        model: Model = m0) throws -> InferenceService {
        var configuration = configuration
        if let gate { configuration.batchWillRun = gate.hook }
        return try InferenceService(model: model, configuration: configuration)
    }
}

/// Holds batches on the worker thread (through ``ServingConfiguration/batchWillRun``) until
/// ``open()``, and records their sizes: lets a test fill the queue or shut down with requests
/// in flight without relying on timing.
final class BatchGate: Sendable {
    private let opened = Atomic<Bool>(false)
    private let sizes = Mutex<[Int]>([])

    var hook: @Sendable (Int) -> Void {
        { [self] size in
            sizes.withLock { $0.append(size) }
            // Hang guard: a failed test that never opens the gate still lets the worker go.
            let deadline = Date().addingTimeInterval(120)
            while !opened.load(ordering: .acquiring), Date() < deadline { usleep(500) }
        }
    }

    /// Sizes of the batches that reached the gate, in order.
    var batches: [Int] { sizes.withLock { $0 } }

    func open() { opened.store(true, ordering: .releasing) }

    /// Waits until the first batch has reached the gate (and is held there).
    func waitUntilHolding(file: StaticString = #filePath, line: UInt = #line) async throws {
        try await eventually("the first batch is held", file: file, line: line) { !batches.isEmpty }
    }
}

extension InferenceService {
    /// Waits until `depth` requests are queued.
    func waitUntilQueued(_ depth: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
        try await eventually("\(depth) request(s) are queued", file: file, line: line) { queueDepth == depth }
    }
}

/// Waits until `condition` holds, checking every few milliseconds; fails after `timeout` (a
/// hang guard, not a measurement).
func eventually(_ what: String, timeout: Duration = .seconds(60), file: StaticString = #filePath, line: UInt = #line,
                _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            XCTFail("timed out waiting until \(what)", file: file, line: line)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// The real HTTP server on 127.0.0.1 with an ephemeral port, in this process.
final class RunningServer: Sendable {
    let port: Int
    let registry: PrometheusCollectorRegistry
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, registry: PrometheusCollectorRegistry, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.registry = registry
        self.group = group
        self.task = task
    }

    static func start(_ services: [InferenceService], configuration: ServerConfiguration = ServerConfiguration(port: 0),
                      registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) async throws -> RunningServer {
        var logger = Logger(label: "vit.serve.test")
        logger.logLevel = .warning
        let server = try InferenceServer(services: services, configuration: configuration, metrics: registry)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let group = server.makeServiceGroup(signals: [], logger: logger) { port in portSink.yield(port) }
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw TestHTTPClient.Failure(description: "the server did not report a port")
        }
        return RunningServer(port: port, registry: registry, group: group, task: task)
    }

    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: Data = Data(),
              framing: TestHTTPClient.Framing = .length) async throws -> HTTPReply {
        try await TestHTTPClient.send(port: port, method, path, headers: headers, body: body, framing: framing)
    }

    /// Starts a graceful shutdown (as SIGTERM does) without waiting for it.
    func beginShutdown() async { await group.triggerGracefulShutdown() }

    /// Shuts down gracefully and waits until the server and its services have stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// Waits for a shutdown begun with ``beginShutdown()``.
    func waitUntilStopped() async throws { try await task.value }
}
