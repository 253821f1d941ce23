import Foundation
import MetricsTestKit
import Synchronization
@testable import ViTEngine
import ViTImages
@testable import ViTServing
import XCTest

/// The library API: results, concurrency, batching, limits, cancellation and shutdown.
final class InferenceServiceTests: XCTestCase {
    /// Each photo run alone through the engine directly: decode, preprocess, one batch-1 session.
    static let reference: [String: Prediction] = {
        let preprocessor = try! ImagePreprocessor(model: Fixtures.m0.info)
        var results: [String: Prediction] = [:]
        for photo in Fixtures.photos {
            let image = try! ImageDecoder().decode(data: Fixtures.image(photo), path: photo)
            results[photo] = try! Fixtures.m0.predict(preprocessor.tensor(for: [image]))
        }
        return results
    }()

    static func expectedTop(_ photo: String, k: Int = 5) -> TopClasses {
        TopClasses(logits: reference[photo]!.logits.values, k: k, labels: ImageNetLabels.names)
    }

    func testEveryInputKindGivesTheEngineResultForThatImage() async throws {
        let service = try Fixtures.service()
        defer { Task { await service.shutdown() } }
        XCTAssertEqual(service.classes, 1000)
        XCTAssertEqual(service.embeddingDimensions, 192)
        let photo = "chelsea.jpg"
        let bytes = Fixtures.image(photo)
        let image = try ImageDecoder().decode(data: bytes, path: photo)
        let tensor = service.preprocessor.tensor(for: [image])

        let fromBytes = try await service.classify(bytes, top: 5)
        XCTAssertEqual(fromBytes, Self.expectedTop(photo))
        let fromImage = try await service.classify(image, top: 5)
        XCTAssertEqual(fromImage, fromBytes)
        let fromTensor = try await service.classify(tensor, top: 5)
        XCTAssertEqual(fromTensor, fromBytes)

        let expectedFeatures = Self.reference[photo]!.features.values
        let embeddingFromBytes = try await service.embed(bytes)
        XCTAssertEqual(embeddingFromBytes, expectedFeatures)
        let embeddingFromImage = try await service.embed(image)
        XCTAssertEqual(embeddingFromImage, expectedFeatures)
        let embeddingFromTensor = try await service.embed(tensor)
        XCTAssertEqual(embeddingFromTensor, expectedFeatures)

        // A tensor of another size runs at that size (its own session).
        let small = try await service.embed(Tensor(zeros: [1, 3, 160, 128]))
        XCTAssertEqual(small, try Fixtures.m0.predict(Tensor(zeros: [1, 3, 160, 128])).features.values)
    }

    func testManyConcurrentTasksGetTheirOwnImagesResults() async throws {
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 8, maxWait: .milliseconds(5)))
        defer { Task { await service.shutdown() } }
        let jobs = (0..<24).map { (photo: Fixtures.photos[$0 % Fixtures.photos.count], embed: $0 % 3 == 0) }
        let outcomes = try await withThrowingTaskGroup(of: (Int, TopClasses?, [Float]?).self) { group in
            for (index, job) in jobs.enumerated() {
                group.addTask {
                    let bytes = Fixtures.image(job.photo)
                    if job.embed { return (index, nil, try await service.embed(bytes)) }
                    return (index, try await service.classify(bytes, top: 5), nil)
                }
            }
            var outcomes: [Int: (TopClasses?, [Float]?)] = [:]
            for try await (index, classes, embedding) in group { outcomes[index] = (classes, embedding) }
            return outcomes
        }
        XCTAssertEqual(outcomes.count, jobs.count)
        for (index, job) in jobs.enumerated() {
            if job.embed {
                XCTAssertEqual(outcomes[index]?.1, Self.reference[job.photo]!.features.values, "request \(index)")
            } else {
                XCTAssertEqual(outcomes[index]?.0, Self.expectedTop(job.photo), "request \(index)")
            }
        }
    }

    func testConcurrentRequestsAreGatheredIntoOneBatchWithTheirAloneResults() async throws {
        let metrics = TestMetrics()
        // The wait is a hang guard: the batch must start because it is full, not because of time.
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 4, maxWait: .seconds(60),
                                                                metricsFactory: metrics))
        defer { Task { await service.shutdown() } }
        let features = try await withThrowingTaskGroup(of: (String, [Float]).self) { group in
            for photo in Fixtures.photos {
                group.addTask { (photo, try await service.embed(Fixtures.image(photo))) }
            }
            return try await group.reduce(into: [String: [Float]]()) { $0[$1.0] = $1.1 }
        }
        for photo in Fixtures.photos {
            XCTAssertEqual(features[photo], Self.reference[photo]!.features.values, photo)
        }
        let sizes = try metrics.expectRecorder(ServingMetrics.batchSizeLabel, [("model", "efficientvit_m0")]).values
        XCTAssertEqual(sizes, [4])
    }

    func testABatchThatIsNotAPowerOfTwoRunsInChunksWithTheSameResults() async throws {
        XCTAssertEqual(SessionPool.chunkSizes(1), [1])
        XCTAssertEqual(SessionPool.chunkSizes(7), [4, 2, 1])
        XCTAssertEqual(SessionPool.chunkSizes(8), [8])
        XCTAssertEqual(SessionPool.chunkSizes(12), [8, 4])

        // The worker is held on a first request while three more queue up; released, it finds
        // them overdue and runs all three as one batch (chunks of 2 and 1).
        let gate = BatchGate()
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 8, maxWait: .zero), gate: gate)
        defer { Task { await service.shutdown() } }
        let first = Task { try await service.classify(Fixtures.image("rocket.jpg")) }
        try await gate.waitUntilHolding()
        let rest = Fixtures.photos.prefix(3).map { photo in
            Task { (photo, try await service.classify(Fixtures.image(photo))) }
        }
        try await service.waitUntilQueued(3)
        gate.open()
        let firstResult = try await first.value
        XCTAssertEqual(firstResult, Self.expectedTop("rocket.jpg"))
        for task in rest {
            let (photo, classes) = try await task.value
            XCTAssertEqual(classes, Self.expectedTop(photo), photo)
        }
        XCTAssertEqual(gate.batches, [1, 3])
    }

    func testAFullQueueRefusesAtOnceWithARetryHint() async throws {
        let metrics = TestMetrics()
        let gate = BatchGate()
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 1, maxQueueDepth: 2, metricsFactory: metrics),
                                           gate: gate)
        defer { Task { await service.shutdown() } }
        let tensor = Tensor(zeros: [1, 3, 224, 224])
        let running = Task { try await service.embed(tensor) }
        try await gate.waitUntilHolding()
        let queued = (0..<2).map { _ in Task { try await service.embed(tensor) } }
        try await service.waitUntilQueued(2)
        do {
            _ = try await service.embed(tensor)
            XCTFail("a request beyond the queue limit was accepted")
        } catch let error {
            guard case let .overloaded(depth, retryAfter) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(depth, 2)
            XCTAssertGreaterThanOrEqual(retryAfter, .seconds(1))
            XCTAssertTrue(error.isRetryable)
        }
        gate.open()
        let expected = try Fixtures.m0.predict(tensor).features.values
        for task in [running] + queued {
            let embedding = try await task.value
            XCTAssertEqual(embedding, expected)
        }
        let refused = try metrics.expectCounter(ServingMetrics.refusedLabel,
                                                [("model", "efficientvit_m0"), ("reason", "overloaded")])
        XCTAssertEqual(refused.totalValue, 1)
    }

    func testRequestsWithoutAResultInTimeFailWithTimedOut() async throws {
        let gate = BatchGate()
        let timeout = Duration.milliseconds(300)
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 1, requestTimeout: timeout), gate: gate)
        let tensor = Tensor(zeros: [1, 3, 224, 224])
        // One held while running, one waiting in the queue: both time out.
        let running = Task { await outcome { () async throws(ServingError) in try await service.embed(tensor) } }
        try await gate.waitUntilHolding()
        let queued = Task { await outcome { () async throws(ServingError) in try await service.embed(tensor) } }
        for task in [running, queued] {
            let result = await task.value
            XCTAssertEqual(result, .failure(.timedOut(after: timeout)))
        }
        XCTAssertEqual(service.queueDepth, 0)
        // The held batch's result arrives after its request gave up; it is dropped, and the
        // worker goes on and exits cleanly.
        gate.open()
        await service.shutdown()
    }

    /// Admission and expiry: a request that would wait longer than the timeout at the workers'
    /// recent speed is refused at once (nothing is known before the first batch: admitted), and a
    /// queued request is expired by the worker itself once it has outlived the timeout, whether
    /// or not its own timer has fired.
    func testRequestsThatCannotFinishInTimeAreShedOrExpiredNotRun() {
        let timeout = Duration.seconds(30)
        XCTAssertFalse(Batcher.wouldTimeOut(queued: 10_000, secondsPerImage: 0, workers: 1, timeout: timeout))
        XCTAssertFalse(Batcher.wouldTimeOut(queued: 299, secondsPerImage: 0.1, workers: 1, timeout: timeout))  // 30.0 s
        XCTAssertTrue(Batcher.wouldTimeOut(queued: 300, secondsPerImage: 0.1, workers: 1, timeout: timeout))   // 30.1 s
        XCTAssertFalse(Batcher.wouldTimeOut(queued: 300, secondsPerImage: 0.1, workers: 2, timeout: timeout))
        let now = ContinuousClock.now
        XCTAssertTrue(Batcher.hasExpired(started: now - .seconds(31), now: now, timeout: timeout))
        XCTAssertTrue(Batcher.hasExpired(started: now - timeout, now: now, timeout: timeout))
        XCTAssertFalse(Batcher.hasExpired(started: now - .seconds(29), now: now, timeout: timeout))
        XCTAssertFalse(Batcher.hasExpired(started: now - .seconds(3600), now: now, timeout: nil))
    }

    func testACancelledRequestLeavesTheQueue() async throws {
        let gate = BatchGate()
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 1), gate: gate)
        let tensor = Tensor(zeros: [1, 3, 224, 224])
        let running = Task { try await service.embed(tensor) }
        try await gate.waitUntilHolding()
        let waiting = Task { await outcome { () async throws(ServingError) in try await service.embed(tensor) } }
        try await service.waitUntilQueued(1)
        waiting.cancel()
        let result = await waiting.value
        XCTAssertEqual(result, .failure(.cancelled))
        XCTAssertEqual(service.queueDepth, 0)
        gate.open()
        _ = try await running.value
        XCTAssertEqual(gate.batches, [1], "the cancelled request was run")
        await service.shutdown()
    }

    func testShutdownFinishesAcceptedRequestsAndRefusesNewOnes() async throws {
        let gate = BatchGate()
        let service = try Fixtures.service(ServingConfiguration(maxBatchSize: 1), gate: gate)
        let bytes = Fixtures.image("coffee.jpg")
        let running = Task { try await service.classify(bytes) }
        try await gate.waitUntilHolding()
        let queued = Task { try await service.classify(bytes) }
        try await service.waitUntilQueued(1)
        let shutdown = Task { await service.shutdown() }
        try await eventually("shutdown has begun") { !service.isAccepting }
        let late = await outcome { () async throws(ServingError) in try await service.embed(Tensor(zeros: [1, 3, 224, 224])) }
        XCTAssertEqual(late, .failure(.shuttingDown))
        XCTAssertEqual(service.queueDepth, 1, "the accepted request is still queued")
        gate.open()
        let first = try await running.value
        let second = try await queued.value
        XCTAssertEqual(first, Self.expectedTop("coffee.jpg"))
        XCTAssertEqual(second, first)
        await shutdown.value
        await service.shutdown()  // a second call returns at once
    }

    /// Concurrent requests of several sizes under a budget of the largest image alone: every
    /// answer is right, the pixels in flight never exceeded the budget, and all were given back.
    func testTheDecodeBudgetBoundsThePixelsDecodedAtOnce() async throws {
        let sizes = try Fixtures.photos.map { photo in
            let size = try ImageDecoder().dimensions(data: Fixtures.image(photo), path: photo)
            return size.width * size.height
        }
        let budget = DecodeBudget(pixels: sizes.max()!)
        let service = try Fixtures.service(ServingConfiguration(maximumPixels: budget.pixels, decodeBudget: budget))
        defer { Task { await service.shutdown() } }
        let jobs = (0..<16).map { Fixtures.photos[$0 % Fixtures.photos.count] }
        let answers = try await withThrowingTaskGroup(of: (Int, TopClasses).self) { group in
            for (index, photo) in jobs.enumerated() {
                group.addTask { (index, try await service.classify(Fixtures.image(photo), top: 5)) }
            }
            var answers: [Int: TopClasses] = [:]
            for try await (index, classes) in group { answers[index] = classes }
            return answers
        }
        for (index, photo) in jobs.enumerated() { XCTAssertEqual(answers[index], Self.expectedTop(photo), "request \(index)") }
        XCTAssertGreaterThan(budget.peakPixels, 0)
        XCTAssertLessThanOrEqual(budget.peakPixels, budget.pixels)
        XCTAssertEqual(budget.pixelsInUse, 0)

        // An image whose header is above the per-image limit is refused at once, without
        // waiting for the budget that the requests in flight hold.
        _ = await budget.acquire(budget.pixels, deadline: nil)
        var png = Fixtures.image("gray.png")
        png.replaceSubrange(16..<24, with: [0, 0x0F, 0x42, 0x40, 0, 0x0F, 0x42, 0x40] as [UInt8])  // 10⁶ × 10⁶
        let crc = CRC32.checksum(png[12..<29])
        png.replaceSubrange(29..<33, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * $0)) })
        let started = ContinuousClock.now
        let bomb = await outcome { () async throws(ServingError) in try await service.classify(png, name: "bomb.png") }
        guard case .failure(.invalidImage(.tooLarge))? = Optional(bomb) else { return XCTFail("\(bomb)") }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        budget.release(budget.pixels)
    }

    /// Waiters are served in arrival order (a small request does not overtake a large one), and a
    /// waiter gives up at its deadline or on cancellation, holding nothing.
    func testTheDecodeBudgetWaitsInOrderAndGivesUp() async throws {
        let budget = DecodeBudget(pixels: 100)
        let first = await budget.acquire(60, deadline: nil)
        XCTAssertTrue(first)
        let timedOut = await budget.acquire(60, deadline: .now + .milliseconds(100))
        XCTAssertFalse(timedOut)
        XCTAssertEqual(budget.pixelsInUse, 60)

        final class Log: Sendable { let names = Mutex<[String]>([]) }
        let log = Log()
        let large = Task { if await budget.acquire(60, deadline: nil) { log.names.withLock { $0.append("large") } } }
        try await Task.sleep(for: .milliseconds(50))
        let small = Task { if await budget.acquire(10, deadline: nil) { log.names.withLock { $0.append("small") } } }
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertEqual(log.names.withLock { $0 }, [], "the small request overtook the large one (30 pixels were free)")
        budget.release(60)
        await large.value
        await small.value
        XCTAssertEqual(log.names.withLock { $0 }, ["large", "small"])
        XCTAssertEqual(budget.pixelsInUse, 70)

        let cancelled = Task { await budget.acquire(50, deadline: nil) }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        let granted = await cancelled.value
        XCTAssertFalse(granted)
        budget.release(70)
        XCTAssertEqual(budget.pixelsInUse, 0)
        XCTAssertEqual(budget.peakPixels, 70)
    }

    /// Free memory is returned once, after requests stop for the delay; not while they go on.
    func testFreedMemoryIsReturnedOnceRequestsStop() async throws {
        final class Count: Sendable { let value = Atomic<Int>(0) }
        let trims = Count()
        let idle = IdleMemoryReturn(delay: .milliseconds(200)) { trims.value.add(1, ordering: .relaxed) }
        for _ in 0..<8 {
            idle.noteActivity()
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertEqual(trims.value.load(ordering: .relaxed), 0, "trimmed while requests were still arriving")
        try await Task.sleep(for: .milliseconds(600))
        XCTAssertEqual(trims.value.load(ordering: .relaxed), 1)
        idle.noteActivity()
        try await Task.sleep(for: .milliseconds(600))
        XCTAssertEqual(trims.value.load(ordering: .relaxed), 2)
    }

    func testBadInputsAndSettingsAreTypedErrors() async throws {
        let service = try Fixtures.service(ServingConfiguration(maximumPixels: 10_000))
        defer { Task { await service.shutdown() } }
        let badTop = await outcome { () async throws(ServingError) in try await service.classify(Fixtures.image("chelsea.jpg"), top: 0) }
        XCTAssertEqual(badTop, .failure(.invalidInput(field: "top", reason: "0 is not in 1…1000")))
        do {
            _ = try await service.embed(Tensor(zeros: [2, 3, 224, 224]))
            XCTFail("a batch tensor was accepted as one input")
        } catch {
            guard case .invalidInput(field: "tensor", _) = error else { return XCTFail("\(error)") }
        }
        let gif = await outcome { () async throws(ServingError) in
            try await service.classify(Data("GIF89a trailing bytes".utf8), name: "upload.gif")
        }
        XCTAssertEqual(gif, .failure(.invalidImage(.notAnImage(path: "upload.gif", found: "a GIF image"))))
        do {
            _ = try await service.classify(Fixtures.image("chelsea.jpg"))
            XCTFail("an image above the pixel limit was decoded")
        } catch {
            guard case .invalidImage(.tooLarge(_, _, _, 10_000)) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try InferenceService(model: Fixtures.m0, configuration: ServingConfiguration(maxBatchSize: 0))) {
            XCTAssertEqual($0 as? ServingError, .invalidInput(field: "maxBatchSize", reason: "0 is not in 1…4096"))
        }
        XCTAssertThrowsError(try InferenceService(model: Fixtures.m0, configuration: ServingConfiguration(
            maximumPixels: 1000, decodeBudget: DecodeBudget(pixels: 999)))) {
            guard case .invalidInput(field: "decodeBudget", _)? = $0 as? ServingError else { return XCTFail("\($0)") }
        }
    }

}

/// The result of a call, error included, for comparing with an expected outcome.
func outcome<T>(_ body: () async throws(ServingError) -> T) async -> Result<T, ServingError> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}
