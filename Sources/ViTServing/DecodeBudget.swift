import DequeModule
import Foundation
import Synchronization

/// Bounds the pixels being decoded and preprocessed at once, across requests and across every
/// service that shares the budget.
///
/// The per-image limit (``ServingConfiguration/maximumPixels``) stops one decompression bomb, but
/// not four large images at once: each costs 3 bytes per pixel while it is decoded, so four
/// 80-megapixel PNGs held about 1 GB. A request learns its image's size from the header (no
/// pixels decoded), takes that many pixels from the budget, decodes and preprocesses, and gives
/// them back. Requests that do not fit wait their turn in arrival order (a small image does not
/// overtake a large one forever), up to the request timeout.
public final class DecodeBudget: Sendable {
    /// Pixels that may be in flight at once.
    public let pixels: Int

    private struct Waiter {
        var id: UInt64
        var pixels: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var inUse = 0
        var peak = 0
        var waiters: Deque<Waiter> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A budget of `pixels` (≥ the largest image a service accepts, or that image could never run).
    public init(pixels: Int) {
        self.pixels = pixels
    }

    /// The most pixels that were in flight at once.
    public var peakPixels: Int { state.withLock { $0.peak } }

    /// Pixels in flight now.
    public var pixelsInUse: Int { state.withLock { $0.inUse } }

    /// Takes `count` pixels (at most ``pixels``), waiting in arrival order until they are free.
    /// False if `deadline` passed or the task was cancelled first (nothing is then held).
    func acquire(_ count: Int, deadline: ContinuousClock.Instant?) async -> Bool {
        let count = min(count, pixels)
        let id: UInt64? = state.withLock { state in
            if state.waiters.isEmpty, state.inUse + count <= pixels {
                state.inUse += count
                state.peak = max(state.peak, state.inUse)
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return true }
        let timer = deadline.map { deadline in
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                self?.abandon(id)
            }
        }
        defer { timer?.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let enqueued = state.withLock { state in
                    // Checked under the lock that abandon() takes, so a timer or a cancellation
                    // that fired before this point is seen here, and one after it finds the waiter.
                    guard !Task.isCancelled, deadline.map({ ContinuousClock.now < $0 }) ?? true else { return false }
                    state.waiters.append(Waiter(id: id, pixels: count, continuation: continuation))
                    return true
                }
                if enqueued { grantWaiting() } else { continuation.resume(returning: false) }
            }
        } onCancel: {
            abandon(id)
        }
    }

    /// Gives back pixels taken by ``acquire(_:deadline:)``.
    func release(_ count: Int) {
        let count = min(count, pixels)
        state.withLock { $0.inUse -= count }
        grantWaiting()
    }

    /// Resumes waiters from the front while they fit.
    private func grantWaiting() {
        let granted: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            var granted: [CheckedContinuation<Bool, Never>] = []
            while let first = state.waiters.first, state.inUse + first.pixels <= pixels {
                state.waiters.removeFirst()
                state.inUse += first.pixels
                state.peak = max(state.peak, state.inUse)
                granted.append(first.continuation)
            }
            return granted
        }
        for continuation in granted { continuation.resume(returning: true) }
    }

    /// Removes a waiter that gave up (timeout or cancellation); those behind it may now fit.
    private func abandon(_ id: UInt64) {
        let removed: Waiter? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let removed else { return }
        removed.continuation.resume(returning: false)
        grantWaiting()
    }
}
