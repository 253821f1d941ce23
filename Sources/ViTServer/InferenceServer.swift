import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals
import ViTServing

/// The HTTP service of `vit serve`: JSON endpoints over one or more `InferenceService`s (ViTServing).
///
/// | endpoint | |
/// |---|---|
/// | `POST /v1/classify?top=k&model=name` | image (raw body or multipart `image` field) → top-k classes |
/// | `POST /v1/embed?model=name` | image → pooled pre-logits features |
/// | `GET /v1/models` | served models, input sizes, batching settings, queue depths |
/// | `GET /healthz` | `{"status": "ok"}` while serving |
/// | `GET /metrics` | Prometheus text: requests by endpoint and status, latency, batch sizes, queue depth |
///
/// Errors are JSON (`{"error": {"code", "message"}}`, see ``APIError``): 400 for a bad body,
/// parameter or request, 404 for an unknown model or path, 405 with `Allow` for a wrong method,
/// 413 for a body or image above the limits, 415 for a format other than JPEG/PNG, 431 for headers
/// above the limit, 503 with `Retry-After` when a queue is full or a request times out. An
/// HTTP/1.0 request is answered in HTTP/1.0 and its connection closed unless it asked to keep it.
///
/// ```swift
/// let registry = PrometheusCollectorRegistry()
/// let factory = InferenceServer.metricsFactory(registry: registry)
/// let service = try InferenceService(model: model, configuration: ServingConfiguration(metricsFactory: factory))
/// try await InferenceServer(services: [service], metrics: registry).run()   // until SIGTERM/SIGINT
/// ```
public struct InferenceServer: Sendable {
    /// The served models; the first is the default when a request names none.
    public let services: [InferenceService]
    /// Address and body limit.
    public let configuration: ServerConfiguration
    /// The registry `/metrics` shows (HTTP figures are added to it).
    public let registry: PrometheusCollectorRegistry

    /// A server for `services` (at least one; distinct models).
    public init(services: [InferenceService], configuration: ServerConfiguration = ServerConfiguration(),
                metrics registry: PrometheusCollectorRegistry) throws(ServerError) {
        guard !services.isEmpty else { throw .noModels }
        let names = services.map(\.model.info.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw .duplicateModel(repeated)
        }
        guard configuration.maxBodyBytes >= 1 else { throw .invalidConfiguration("maxBodyBytes must be at least 1") }
        guard configuration.defaultTop >= 1 else { throw .invalidConfiguration("defaultTop must be at least 1") }
        self.services = services
        self.configuration = configuration
        self.registry = registry
    }

    /// The Hummingbird application: the routes, and the services as its lifecycle services, so
    /// that on graceful shutdown the server first stops accepting and finishes its requests,
    /// then the services drain. `onServerRunning` receives the bound port.
    public func makeApplication(logger: Logger = Logger(label: "vit.serve"),
                                onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: HTTPMetricsMiddleware(factory: Self.metricsFactory(registry: registry)))
        Routes(services: services, configuration: configuration, registry: registry).register(on: router)
        func nanoseconds(_ duration: Duration) -> TimeAmount { .nanoseconds(Int64(duration / .nanoseconds(1))) }
        let idle = configuration.idleTimeout.map(nanoseconds)
        let deadline = configuration.requestReadTimeout.map(nanoseconds)
        let connections = configuration.maxConnections.map { ConnectionLimit(maximum: $0) }
        let handlers: @Sendable () -> [any RemovableChannelHandler] = {
            (connections.map { [$0.makeHandler()] } ?? []) + (deadline.map { [RequestReadDeadline(limit: $0)] } ?? [])
        }
        return Application(
            router: router,
            server: .versionAwareHTTP1(configuration: .init(additionalChannelHandlers: handlers(), idleTimeout: idle)),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: configuration.serverName),
            services: services.map { $0 as any Service },
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// The server as a service group: graceful shutdown on `signals` (none: only by
    /// `triggerGracefulShutdown()`), escalated to cancellation after
    /// ``ServerConfiguration/shutdownGracePeriod``, which cuts the connections still open.
    public func makeServiceGroup(signals: [UnixSignal] = [.sigterm, .sigint], logger: Logger = Logger(label: "vit.serve"),
                                 onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) -> ServiceGroup {
        var group = ServiceGroupConfiguration(
            services: [makeApplication(logger: logger, onServerRunning: onServerRunning)],
            gracefulShutdownSignals: signals, logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownGracePeriod
        return ServiceGroup(configuration: group)
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully: no new connections, accepted
    /// requests answered, queues drained — within ``ServerConfiguration/shutdownGracePeriod``.
    public func run(logger: Logger = Logger(label: "vit.serve"),
                    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) async throws {
        try await makeServiceGroup(logger: logger, onServerRunning: onServerRunning).run()
    }
}

/// A server that cannot be set up.
public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No model to serve.
    case noModels
    /// The same model was given twice.
    case duplicateModel(String)
    /// A setting is out of range.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .noModels: "no model to serve"
        case let .duplicateModel(name): "model \(name) is given more than once"
        case let .invalidConfiguration(reason): "invalid server configuration: \(reason)"
        }
    }
}
