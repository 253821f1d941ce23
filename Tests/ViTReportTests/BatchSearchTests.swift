import XCTest
@testable import ViTReport

final class BatchSearchTests: XCTestCase {
    private let search = BatchSearch(maxBatch: 64, minGain: 0.03, memoryLimitBytes: 1 << 30)

    private func measured(_ throughputs: [Double]) -> [BenchResult] {
        throughputs.enumerated().map { Samples.bench(batch: 1 << $0.offset, imagesPerSecond: $0.element) }
    }

    func testStartsAtOneAndDoublesWhileThroughputImproves() {
        XCTAssertEqual(search.next(after: []), .measure(batch: 1))
        XCTAssertEqual(search.next(after: measured([100])), .measure(batch: 2))
        XCTAssertEqual(search.next(after: measured([100, 120])), .measure(batch: 4))
        XCTAssertEqual(search.next(after: measured([100, 120, 130])), .measure(batch: 8))
    }

    func testStopsWhenTheGainIsThreePercentOrLess() {
        guard case .stop(let reason) = search.next(after: measured([100, 120, 123])) else { return XCTFail() }
        XCTAssertTrue(reason.contains("batch 4") && reason.contains("+2.5%"), reason)
        // Just under 3 % stops, just over goes on.
        guard case .stop = search.next(after: measured([100, 102.9])) else { return XCTFail() }
        XCTAssertEqual(search.next(after: measured([100, 103.1])), .measure(batch: 4))
        // Slower than the best so far, even if faster than the one before.
        guard case .stop = search.next(after: measured([100, 150, 140])) else { return XCTFail() }
    }

    func testBestIsTheFastestAndTheSmallerBatchOnATie() {
        XCTAssertEqual(BatchSearch.best(of: measured([100, 150, 140]))?.batch, 2)
        XCTAssertEqual(BatchSearch.best(of: measured([100, 150, 150]))?.batch, 2)
        XCTAssertNil(BatchSearch.best(of: []))
    }

    func testStopsAtTheLargestBatchAllowed() {
        let small = BatchSearch(maxBatch: 2, minGain: 0.03, memoryLimitBytes: 1 << 30)
        guard case .stop(let reason) = small.next(after: measured([100, 200])) else { return XCTFail() }
        XCTAssertTrue(reason.contains("largest allowed, 2"), reason)
        guard case .stop = BatchSearch(maxBatch: 1, minGain: 0.03, memoryLimitBytes: 1 << 30)
            .next(after: measured([100])) else { return XCTFail() }
    }

    func testStopsBeforeABatchPredictedToExceedTheMemoryLimit() {
        // 100 MiB at batch 1 with a 50 MiB arena: batch 2 is predicted at 100 + 2 × 50 = 200 MiB.
        let one = [Samples.bench(imagesPerSecond: 100, peakRSS: 100 << 20, arena: 50 << 20)]
        XCTAssertEqual(BatchSearch(maxBatch: 64, minGain: 0.03, memoryLimitBytes: 200 << 20).next(after: one),
                       .measure(batch: 2))
        guard case .stop(let reason) = BatchSearch(maxBatch: 64, minGain: 0.03, memoryLimitBytes: 199 << 20)
            .next(after: one) else { return XCTFail() }
        XCTAssertTrue(reason.contains("200 MiB"), reason)
    }
}
