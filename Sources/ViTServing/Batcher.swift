import DequeModule
import Foundation
import Synchronization
import ViTEngine

/// The request queue and the worker threads that gather queued requests into batches and run
/// them (see ``ServingConfiguration`` for the batching rule).
///
/// Workers are threads of their own, not tasks: a batch keeps a core busy for milliseconds and
/// its engine threads spin between layers, which must not tie up Swift's cooperative pool (that
/// would stall every other task of the process, HTTP handlers included).
///
/// Each request's continuation is resumed exactly once, by whoever removes it from `replies`:
/// the worker with its result, or the timeout / cancellation with an error (then the worker's
/// result, if the request was already running, is dropped).
final class Batcher: Sendable {
    private typealias Reply = CheckedContinuation<Result<RowOutput, ServingError>, Never>

    private struct Request: Sendable {
        var id: UInt64
        var height: Int
        var width: Int
        var values: [Float]
        /// When the request began (before decoding): its timeout counts from here.
        var started: ContinuousClock.Instant
        /// When it joined the queue: batching waits for others from here.
        var enqueued: ContinuousClock.Instant
    }

    private struct State: Sendable {
        var pending = Deque<Request>()
        var replies: [UInt64: Reply] = [:]
        var nextID: UInt64 = 0
        var accepting = true
        var runningWorkers = 0
        var stopped: [CheckedContinuation<Void, Never>] = []
        /// Recent seconds per image of a batch run (moving average), for `Retry-After` hints.
        var secondsPerImage = 0.0
    }

    private enum Step {
        case wait(until: ContinuousClock.Instant?)
        case run([Request])
        case exit
    }

    /// Whether a request that found `queued` requests ahead of it would wait longer than
    /// `timeout` at `secondsPerImage` over `workers` workers: then it is refused at once
    /// (overloaded, with a retry hint) rather than queued only to time out. Unknown speed
    /// (nothing has run yet) admits.
    static func wouldTimeOut(queued: Int, secondsPerImage: Double, workers: Int, timeout: Duration) -> Bool {
        guard secondsPerImage > 0 else { return false }
        return Double(queued + 1) * secondsPerImage / Double(max(1, workers)) > timeout / .seconds(1)
    }

    /// Whether a request that began at `started` has outlived `timeout` at `now`.
    static func hasExpired(started: ContinuousClock.Instant, now: ContinuousClock.Instant, timeout: Duration?) -> Bool {
        guard let timeout else { return false }
        return now - started >= timeout
    }

    private let model: Model
    private let configuration: ServingConfiguration
    private let metrics: ServingMetrics
    private let state = Mutex(State())
    private let wake = WakeSignal()

    init(model: Model, configuration: ServingConfiguration, metrics: ServingMetrics) {
        self.model = model
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Starts the worker threads.
    func start() {
        let workers = configuration.workers
        let threads = configuration.threadsPerWorker
            ?? max(1, ProcessInfo.processInfo.activeProcessorCount / workers)
        // Sessions for every chunk size (the powers of two up to maxBatchSize) of the usual
        // input shape, plus a few for other shapes.
        let capacity = (Int.bitWidth - configuration.maxBatchSize.leadingZeroBitCount) + 4
        state.withLock { $0.runningWorkers = workers }
        for index in 0..<workers {
            let thread = Thread { [self] in
                var pool = SessionPool(model: model, threads: threads, capacity: capacity)
                work(&pool)
            }
            thread.name = "vit-batcher-\(model.info.name)-\(index)"
            thread.start()
        }
    }

    /// Requests waiting for a worker.
    var queueDepth: Int { state.withLock { $0.pending.count } }

    /// False once shutdown has begun.
    var isAccepting: Bool { state.withLock { $0.accepting } }

    /// Queues one input (`3 × height × width` normalized values) and returns its outputs.
    /// Queues one input and returns its row of the batch it ran in. `started` is when the request
    /// began (its decoding included): the timeout counts from there, so decoding and queueing
    /// together stay within it.
    func submit(_ values: [Float], height: Int, width: Int,
                started: ContinuousClock.Instant = .now) async throws(ServingError) -> RowOutput {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let timer = configuration.requestTimeout.map { timeout in
            Task { [self] in
                // Cancelled when the result arrives first.
                guard (try? await Task.sleep(until: started + timeout, clock: .continuous)) != nil else { return }
                if abandon(id, with: .timedOut(after: timeout)) { metrics.timedOut.increment() }
            }
        }
        defer { timer?.cancel() }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (reply: Reply) in
                let refusal: ServingError? = state.withLock { state in
                    guard state.accepting else { return .shuttingDown }
                    // Checked under the lock that `abandon` takes, so a cancellation is never missed.
                    guard !Task.isCancelled else { return .cancelled }
                    guard state.pending.count < configuration.maxQueueDepth else {
                        return .overloaded(queueDepth: state.pending.count, retryAfter: retryAfter(state))
                    }
                    if let timeout = configuration.requestTimeout,
                       Self.wouldTimeOut(queued: state.pending.count, secondsPerImage: state.secondsPerImage,
                                         workers: configuration.workers, timeout: timeout - (.now - started)) {
                        return .overloaded(queueDepth: state.pending.count, retryAfter: retryAfter(state))
                    }
                    state.pending.append(Request(id: id, height: height, width: width, values: values,
                                                 started: started, enqueued: .now))
                    state.replies[id] = reply
                    metrics.queueDepth.record(state.pending.count)
                    return nil
                }
                if let refusal {
                    switch refusal {
                    case .overloaded: metrics.overloaded.increment()
                    case .cancelled: metrics.cancelled.increment()
                    default: break
                    }
                    reply.resume(returning: .failure(refusal))
                } else {
                    wake.signal()
                }
            }
        } onCancel: {
            if abandon(id, with: .cancelled) { metrics.cancelled.increment() }
        }
        return try result.get()
    }

    /// Ends a request early with `error` if it has not been answered yet; true if it had not.
    /// A queued request leaves the queue; a running one's result will be dropped.
    @discardableResult
    private func abandon(_ id: UInt64, with error: ServingError) -> Bool {
        let reply: Reply? = state.withLock { state in
            guard let reply = state.replies.removeValue(forKey: id) else { return nil }
            if let index = state.pending.firstIndex(where: { $0.id == id }) {
                state.pending.remove(at: index)
                metrics.queueDepth.record(state.pending.count)
            }
            return reply
        }
        reply?.resume(returning: .failure(error))
        if reply != nil { wake.signal() }
        return reply != nil
    }

    /// An estimate of when the queue will have room: the queued images at the recent speed of
    /// the workers, at least one second.
    private func retryAfter(_ state: State) -> Duration {
        let seconds = Double(state.pending.count) * state.secondsPerImage / Double(configuration.workers)
        return .seconds(min(60, max(1, Int(seconds.rounded(.up)))))
    }

    /// Stops accepting requests; the workers finish every queued and running one, then exit.
    /// Returns when they have.
    func shutdown() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state in
                state.accepting = false
                if state.runningWorkers == 0 { return true }
                state.stopped.append(done)
                return false
            }
            if finished { done.resume() }
            wake.signal()
        }
    }

    /// Stops accepting requests and lets the workers exit once the queue is empty, without waiting.
    func stopAccepting() {
        state.withLock { $0.accepting = false }
        wake.signal()
    }

    // MARK: - Worker threads

    private func work(_ pool: inout SessionPool) {
        while true {
            let seen = wake.generation
            switch nextStep() {
            case .exit:
                let waiters = state.withLock { state in
                    state.runningWorkers -= 1
                    guard state.runningWorkers == 0 else { return [CheckedContinuation<Void, Never>]() }
                    defer { state.stopped = [] }
                    return state.stopped
                }
                waiters.forEach { $0.resume() }
                return
            case let .wait(deadline):
                wake.wait(after: seen, until: deadline)
            case let .run(batch):
                run(batch, pool: &pool)
            }
        }
    }

    /// Answers expired requests, then takes a batch if one is due, else says how long to wait.
    private func nextStep() -> Step {
        // Requests that outlived the timeout while queued are answered now and never run, even
        // when their own timers are late (a busy process): a batch of expired requests would be
        // work for nobody while live ones wait behind it.
        let (step, expired) = state.withLock { state -> (Step, [Reply]) in
            let now = ContinuousClock.now
            var expired: [Reply] = []
            if state.pending.contains(where: { Self.hasExpired(started: $0.started, now: now, timeout: configuration.requestTimeout) }) {
                var live = Deque<Request>()
                for request in state.pending {
                    if Self.hasExpired(started: request.started, now: now, timeout: configuration.requestTimeout) {
                        if let reply = state.replies.removeValue(forKey: request.id) { expired.append(reply) }
                    } else {
                        live.append(request)
                    }
                }
                state.pending = live
                metrics.queueDepth.record(state.pending.count)
            }
            return (Self.takeStep(&state, configuration: configuration, metrics: metrics), expired)
        }
        if let timeout = configuration.requestTimeout {
            for reply in expired {
                metrics.timedOut.increment()
                reply.resume(returning: .failure(.timedOut(after: timeout)))
            }
        }
        return step
    }

    /// Takes a batch if one is due, else says how long to wait (under the state lock).
    private static func takeStep(_ state: inout State, configuration: ServingConfiguration, metrics: ServingMetrics) -> Step {
        guard let first = state.pending.first else {
            return state.accepting ? .wait(until: nil) : .exit
        }
        let limit = configuration.maxBatchSize
        let available = state.pending.lazy.filter { $0.height == first.height && $0.width == first.width }
            .prefix(limit).count
        let deadline = first.enqueued.advanced(by: configuration.maxWait)
        // While shutting down nobody else is coming: run what is queued without waiting.
        if state.accepting, available < limit, ContinuousClock.now < deadline {
            return .wait(until: deadline)
        }
        var batch: [Request] = []
        var rest = Deque<Request>()
        for request in state.pending {
            if batch.count < limit, request.height == first.height, request.width == first.width {
                batch.append(request)
            } else {
                rest.append(request)
            }
        }
        state.pending = rest
        metrics.queueDepth.record(state.pending.count)
        return .run(batch)
    }

    private func run(_ batch: [Request], pool: inout SessionPool) {
        configuration.batchWillRun?(batch.count)
        metrics.batchSize.record(batch.count)
        let start = ContinuousClock.now
        let outputs: Result<[RowOutput], ServingError>
        do throws(EngineError) {
            outputs = .success(try pool.run(batch.map(\.values), height: batch[0].height, width: batch[0].width))
        } catch {
            outputs = .failure(.engine(error))
        }
        let elapsed = ContinuousClock.now - start
        metrics.batchDuration.record(duration: elapsed)
        let replies: [Reply?] = state.withLock { state in
            let perImage = elapsed / .seconds(1) / Double(batch.count)
            state.secondsPerImage = state.secondsPerImage == 0 ? perImage : 0.8 * state.secondsPerImage + 0.2 * perImage
            return batch.map { state.replies.removeValue(forKey: $0.id) }
        }
        for (index, reply) in replies.enumerated() {
            reply?.resume(returning: outputs.map { $0[index] })
        }
    }
}
