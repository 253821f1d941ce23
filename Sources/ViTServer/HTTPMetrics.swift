import Metrics
import Hummingbird
import Prometheus

/// Counts every answer by endpoint and status (`vit_http_requests_total`) and times it
/// (`vit_http_request_duration_seconds`), into the server's own metrics factory rather than the
/// process-wide one, so several servers (or tests) in one process keep separate figures.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    static var requestsLabel: String { "vit_http_requests_total" }
    static var durationLabel: String { "vit_http_request_duration_seconds" }

    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let status: HTTPResponse.Status
        defer {
            // The route, not the path: unrouted paths share Hummingbird's "NotFound", so scanners
            // cannot grow the label set without bound.
            let endpoint = context.endpointPath ?? "NotFound"
            Counter(label: Self.requestsLabel, dimensions: [("endpoint", endpoint), ("status", String(status.code))],
                    factory: factory).increment()
            Metrics.Timer(label: Self.durationLabel, dimensions: [("endpoint", endpoint)], factory: factory)
                .record(duration: ContinuousClock.now - start)
        }
        do {
            let response = try await next(request, context)
            status = response.status
            return response
        } catch {
            status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            throw error
        }
    }
}

extension InferenceServer {
    /// A metrics factory writing into `registry`, with histogram buckets that suit the server's
    /// figures (batch sizes 1…256; latencies from 1 ms). Give it to every served model's
    /// `ServingConfiguration.metricsFactory` (ViTServing) so `/metrics` shows their queues and batches.
    public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["vit_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        let latency: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                   .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                   .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
                                   .seconds(30)]
        factory.defaultDurationHistogramBuckets = latency
        return factory
    }
}
