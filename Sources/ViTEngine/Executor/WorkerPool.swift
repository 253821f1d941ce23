import CEngineSupport

/// The threads one session runs its layers on (the caller plus `threads − 1` workers).
/// Owned by a single session and used from one thread at a time, like the session's arena.
final class WorkerPool {
    private let pool: OpaquePointer
    let threads: Int

    init(threads: Int) {
        pool = vit_pool_create(Int32(max(1, threads)))
        self.threads = Int(vit_pool_threads(pool))
    }

    deinit { vit_pool_destroy(pool) }

    /// The loop body as the C pool sees it: a pointer to this struct on the caller's stack, so
    /// running a layer allocates nothing.
    private struct Job {
        let body: (Int, Int) -> Void
    }

    /// Runs `body(item, thread)` for every item in `0..<items`, spread over the threads, and
    /// returns when all are done. Items must be independent; `thread` selects per-thread scratch.
    func run(items: Int, _ body: (Int, Int) -> Void) {
        if items == 1 || threads == 1 {
            for i in 0..<items { body(i, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = Job(body: body)
            withUnsafeMutablePointer(to: &job) { job in
                vit_pool_run(pool, items, { context, item, thread in
                    context!.assumingMemoryBound(to: Job.self).pointee.body(item, Int(thread))
                }, job)
            }
        }
    }
}
