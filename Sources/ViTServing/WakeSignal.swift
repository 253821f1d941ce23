import Foundation
import Synchronization

/// Wakes the worker threads when the queue changes, without lost wake-ups.
///
/// A worker reads ``generation`` *before* it inspects the queue, and then sleeps only while the
/// generation is unchanged; every change to the queue calls ``signal()`` after it is made. So a
/// change that lands between the inspection and the sleep is seen and the worker does not sleep.
final class WakeSignal: Sendable {
    private let condition = NSCondition()
    private let counter = Atomic<UInt64>(0)

    /// The number of signals so far.
    var generation: UInt64 { counter.load(ordering: .acquiring) }

    /// Wakes every sleeping worker.
    func signal() {
        condition.lock()
        counter.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    /// Sleeps until a signal after `seen` (a value of ``generation``) or until `deadline`.
    func wait(after seen: UInt64, until deadline: ContinuousClock.Instant?) {
        condition.lock()
        defer { condition.unlock() }
        while counter.load(ordering: .acquiring) == seen {
            guard let deadline else {
                condition.wait()
                continue
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return }
            if !condition.wait(until: Date(timeIntervalSinceNow: remaining / .seconds(1))) { return }
        }
    }
}
