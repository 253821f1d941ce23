import Foundation

/// The search for the batch size with the highest throughput: batch 1, then doubling, until the
/// throughput stops improving, the largest batch allowed is reached, or the next batch would not
/// fit in the memory limit.
///
/// Throughput on a CPU usually rises for the first few doublings (weights are reused from
/// cache, per-layer overheads are shared) and then flattens or falls once activations fall out
/// of cache, so a doubling search finds the plateau in a handful of measurements.
public struct BatchSearch: Sendable {
    /// Largest batch size measured.
    public var maxBatch: Int
    /// Relative gain over the best throughput so far below which the search stops (0.03 = 3 %).
    public var minGain: Double
    /// Peak RSS the next measurement may be predicted to need, in bytes.
    public var memoryLimitBytes: Int

    /// What to do after the measurements so far.
    public enum Step: Equatable, Sendable {
        case measure(batch: Int)
        case stop(reason: String)
    }

    public init(maxBatch: Int, minGain: Double, memoryLimitBytes: Int) {
        self.maxBatch = maxBatch
        self.minGain = minGain
        self.memoryLimitBytes = memoryLimitBytes
    }

    /// The next step, given the measurements so far in the order they were taken.
    public func next(after measured: [BenchResult]) -> Step {
        guard let last = measured.last else { return .measure(batch: 1) }
        if let previousBest = measured.dropLast().max(by: { $0.imagesPerSecond < $1.imagesPerSecond }) {
            let gain = last.imagesPerSecond / previousBest.imagesPerSecond - 1
            if gain <= minGain {
                return .stop(reason: String(format: "batch %d is %+.1f%% against batch %d (not above %+.1f%%)",
                                            last.batch, 100 * gain, previousBest.batch, 100 * minGain))
            }
        }
        let batch = last.batch * 2
        if batch > maxBatch { return .stop(reason: "batch \(batch) is above the largest allowed, \(maxBatch)") }
        let predicted = Self.predictedPeakRSS(after: last, batch: batch)
        if predicted > memoryLimitBytes {
            return .stop(reason: "batch \(batch) would need about \(predicted >> 20) MiB, above the limit of "
                         + "\(memoryLimitBytes >> 20) MiB")
        }
        return .measure(batch: batch)
    }

    /// The measurement with the highest throughput (the smaller batch on a tie).
    public static func best(of measured: [BenchResult]) -> BenchResult? {
        measured.reduce(nil) { best, m in
            guard let best else { return m }
            return m.imagesPerSecond > best.imagesPerSecond ? m : best
        }
    }

    /// A deliberately high estimate of the peak RSS at `batch`: activations (the arena) grow in
    /// proportion to the batch, and the input tensor and per-run scratch roughly as much again,
    /// hence twice the arena's growth on top of what was measured.
    static func predictedPeakRSS(after last: BenchResult, batch: Int) -> Int {
        let growth = Double(batch - last.batch) / Double(last.batch)
        return last.peakRSSBytes + Int(2 * Double(last.arenaBytes) * growth)
    }
}
