import Metrics
import ViTImages

/// How an ``InferenceService`` batches, queues and limits requests.
///
/// Dynamic batching: a worker takes the oldest queued request, then waits until
/// ``maxBatchSize`` requests of the same input shape are queued or ``maxWait`` has passed since
/// that request arrived, whichever is first, and runs them as one batch. Under load the queue
/// fills while a batch runs, so the next batch starts full without waiting. `maxBatchSize: 1`
/// turns batching off.
public struct ServingConfiguration: Sendable {
    /// Largest number of requests run as one batch (≥ 1).
    public var maxBatchSize: Int
    /// Longest time the oldest queued request waits for others to join its batch.
    public var maxWait: Duration
    /// Requests waiting for a worker beyond this are refused at once with
    /// ``ServingError/overloaded(queueDepth:retryAfter:)`` (requests already running do not count).
    public var maxQueueDepth: Int
    /// A request without a result after this long (queued or running) fails with
    /// ``ServingError/timedOut(after:)``; nil waits indefinitely.
    public var requestTimeout: Duration?
    /// Threads that each take batches from the queue and run them, each with its own sessions.
    public var workers: Int
    /// Engine threads each worker's sessions run on (default: the available cores shared among
    /// the workers). Results are bit-identical for any value.
    public var threadsPerWorker: Int?
    /// Decoded images with more pixels than this are refused (a decompression-bomb guard).
    public var maximumPixels: Int
    /// The pixels decoded at once across requests (see ``DecodeBudget``); at least
    /// ``maximumPixels``. Give several services the same budget to bound them together (`vit
    /// serve` does). The default admits one image of the default maximum size, or several
    /// ordinary photos, at a time: about 270 MB of decoded RGB.
    public var decodeBudget: DecodeBudget
    /// Where the service's metrics go (queue depth, batch sizes, batch time, refusals); nil uses
    /// the process-wide `MetricsSystem` (a no-op unless bootstrapped).
    public var metricsFactory: (any MetricsFactory)?

    /// Called on the worker thread just before each batch runs, with its size. Tests use it to
    /// hold batches (to fill the queue or to shut down with requests in flight); not public API.
    var batchWillRun: (@Sendable (_ size: Int) -> Void)?

    /// Creates a configuration; the defaults suit a small CPU server.
    public init(maxBatchSize: Int = 8, maxWait: Duration = .milliseconds(2), maxQueueDepth: Int = 256,
                requestTimeout: Duration? = .seconds(30), workers: Int = 1, threadsPerWorker: Int? = nil,
                maximumPixels: Int = ImageDecoder.defaultMaximumPixels,
                decodeBudget: DecodeBudget = DecodeBudget(pixels: ImageDecoder.defaultMaximumPixels),
                metricsFactory: (any MetricsFactory)? = nil) {
        self.maxBatchSize = maxBatchSize
        self.maxWait = maxWait
        self.maxQueueDepth = maxQueueDepth
        self.requestTimeout = requestTimeout
        self.workers = workers
        self.threadsPerWorker = threadsPerWorker
        self.maximumPixels = maximumPixels
        self.decodeBudget = decodeBudget
        self.metricsFactory = metricsFactory
    }

    /// Refuses settings that cannot work, naming the field.
    func validate() throws(ServingError) {
        func refuse(_ field: String, _ reason: String) -> ServingError { .invalidInput(field: field, reason: reason) }
        guard (1...4096).contains(maxBatchSize) else { throw refuse("maxBatchSize", "\(maxBatchSize) is not in 1…4096") }
        guard maxWait >= .zero else { throw refuse("maxWait", "\(maxWait) is negative") }
        guard maxQueueDepth >= 1 else { throw refuse("maxQueueDepth", "\(maxQueueDepth) is below 1") }
        if let requestTimeout, requestTimeout <= .zero {
            throw refuse("requestTimeout", "\(requestTimeout) is not positive")
        }
        guard (1...256).contains(workers) else { throw refuse("workers", "\(workers) is not in 1…256") }
        if let threadsPerWorker, !(1...256).contains(threadsPerWorker) {
            throw refuse("threadsPerWorker", "\(threadsPerWorker) is not in 1…256")
        }
        guard maximumPixels >= 1 else { throw refuse("maximumPixels", "\(maximumPixels) is below 1") }
        guard decodeBudget.pixels >= maximumPixels else {
            throw refuse("decodeBudget", "\(decodeBudget.pixels) pixels is below maximumPixels (\(maximumPixels)): "
                         + "an image of the largest accepted size could never be decoded")
        }
    }
}
