import Metrics

/// The metrics one service reports, all labelled with its model's name:
///
/// - `vit_queue_depth` (gauge): requests waiting for a worker;
/// - `vit_batch_size` (histogram): requests per batch run;
/// - `vit_batch_duration_seconds` (histogram): time to run a batch;
/// - `vit_requests_refused_total{reason}` (counter): requests refused as `overloaded`, or ended as
///   `timeout` or `cancelled`.
struct ServingMetrics: Sendable {
    static let queueDepthLabel = "vit_queue_depth"
    static let batchSizeLabel = "vit_batch_size"
    static let batchDurationLabel = "vit_batch_duration_seconds"
    static let refusedLabel = "vit_requests_refused_total"

    let queueDepth: Gauge
    let batchSize: Recorder
    let batchDuration: Metrics.Timer
    let overloaded: Counter
    let timedOut: Counter
    let cancelled: Counter

    init(model: String, factory: any MetricsFactory) {
        let dimensions = [("model", model)]
        queueDepth = Gauge(label: Self.queueDepthLabel, dimensions: dimensions, factory: factory)
        batchSize = Recorder(label: Self.batchSizeLabel, dimensions: dimensions, aggregate: true, factory: factory)
        batchDuration = Metrics.Timer(label: Self.batchDurationLabel, dimensions: dimensions, factory: factory)
        func refused(_ reason: String) -> Counter {
            Counter(label: Self.refusedLabel, dimensions: dimensions + [("reason", reason)], factory: factory)
        }
        overloaded = refused("overloaded")
        timedOut = refused("timeout")
        cancelled = refused("cancelled")
    }
}
