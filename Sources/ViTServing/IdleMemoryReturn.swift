import CEngineSupport
import Synchronization

/// Hands the allocator's free pages back to the system once a service has been quiet for a
/// moment after work.
///
/// glibc keeps what a burst freed in its per-thread arenas, so without this the resident memory
/// stays at the burst's peak (42 → 229 MB after one overload of `vit serve`, and it stayed there).
/// Trimming after every request would cost time on the request path; trimming once the requests
/// have stopped for ``delay`` returns the memory when it is no longer needed, at most once per
/// quiet period.
final class IdleMemoryReturn: Sendable {
    /// How long without activity counts as quiet.
    let delay: Duration
    private let trim: @Sendable () -> Void

    private struct State {
        var lastActivity = ContinuousClock.now
        var waiting = false
    }

    private let state = Mutex(State())

    /// `trim` is what runs when quiet (the allocator's trim by default; tests count calls).
    init(delay: Duration = .seconds(1), trim: @escaping @Sendable () -> Void = { _ = vit_return_free_memory() }) {
        self.delay = delay
        self.trim = trim
    }

    /// Records work just done; a trim follows once nothing else happens for ``delay``.
    func noteActivity() {
        let start = state.withLock { state in
            state.lastActivity = .now
            defer { state.waiting = true }
            return !state.waiting
        }
        guard start else { return }
        Task.detached { [self] in await waitForQuiet() }
    }

    private func waitForQuiet() async {
        while true {
            let wake = state.withLock { $0.lastActivity } + delay
            try? await Task.sleep(until: wake, clock: .continuous)
            let quiet = state.withLock { state in
                guard ContinuousClock.now >= state.lastActivity + delay else { return false }
                state.waiting = false
                return true
            }
            if quiet { return trim() }
        }
    }
}
