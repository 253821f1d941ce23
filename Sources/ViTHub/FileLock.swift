import Foundation
import ViTEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (`flock(2)`) on a lock file, held until ``unlock()``.
///
/// `flock` locks belong to the open file description, so two processes — and two threads of
/// one process that each open the file — exclude each other, and the kernel drops the lock if
/// the holder dies: a crashed download never leaves the cache locked.
final class FileLock {
    private var descriptor: Int32

    /// Blocks until the lock on `path` (created if absent) is held.
    init(path: String) throws(EngineError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .writeFailed(path: path, reason: "cannot create the cache lock file: \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .writeFailed(path: path, reason: "cannot lock the cache entry: \(reason)")
        }
        descriptor = fd
    }

    /// Releases the lock (closing the descriptor releases it); also done on deinit.
    func unlock() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    deinit { unlock() }
}
