import Foundation
import Synchronization

// File helpers shared by the safetensors and .npy readers and writers.

/// Writes `data` to `path` via a temporary file in the same directory and `rename(2)`, which
/// replaces the destination atomically, so readers see either the old file or the complete new
/// one. The temporary file is removed on any failure. Shared by the safetensors and NPY writers,
/// and public for the front-ends' own outputs (e.g. the efficiency report's tables and plots).
public func writeFileAtomically(_ data: Data, to path: String) throws(EngineError) {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let temporary = directory + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString
    func failure(_ what: String) -> EngineError {
        .writeFailed(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }

    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else { throw failure("cannot create a temporary file in '\(directory)'") }
    var error: EngineError?
    data.withUnsafeBytes { raw in
        var written = 0
        while written < raw.count {
            let result = write(descriptor, raw.baseAddress! + written, raw.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                error = failure("write failed")
                return
            }
            written += result
        }
    }
    // fsync before rename so a crash cannot leave the new name pointing at unwritten blocks.
    if error == nil, fsync(descriptor) != 0 { error = failure("fsync failed") }
    if close(descriptor) != 0, error == nil { error = failure("close failed") }
    if error == nil, rename(temporary, path) != 0 { error = failure("cannot rename the temporary file into place") }
    if let error {
        unlink(temporary)
        throw error
    }
}

/// A whole file mapped read-only into memory, so that weights are paged in as they are read.
///
/// A mapped page that has been read stays in the process's resident set until it is unmapped, so
/// a loader that reads every tensor once would end up holding the whole file *and* the model's
/// own copy of the weights: twice the model's size at the peak. Readers report each tensor they
/// have copied (``finishedReading(byteCount:)``) and the pages are given back as they go: the
/// kernel drops them from this process (they stay in the page cache, and a later read faults them
/// in again from the unchanged file), so loading peaks near one copy of the weights (M5 from a
/// 50 MB file: 134 → 84 MB peak RSS).
final class MappedFile: Sendable {
    /// The file's bytes, without a copy; the view keeps this mapping alive.
    let data: Data
    /// Held here as well as by `data`'s deallocator: Foundation copies very small buffers and
    /// drops the deallocator at once, and ``releaseResidentPages()`` must never touch an address that has
    /// been unmapped (and perhaps reused).
    private let mapping: Unmapper?
    /// Bytes read since the pages were last given back (see ``finishedReading(byteCount:)``).
    private let unreleasedBytes = Atomic<Int>(0)
    /// How many bytes may be read before their pages are given back. Each release costs tens of
    /// microseconds (the kernel walks the mapping and flushes the TLB), so it is not done after
    /// every small tensor: releasing after each of M0's 340 tensors added 11 ms to its 36 ms cold
    /// start, every 256 KiB adds nothing measurable and holds at most this much more.
    static let releaseInterval = 256 << 10

    /// Maps the file at `path`.
    ///
    /// - Throws: ``EngineError/fileUnreadable(path:reason:)`` naming the cause (no such file, a
    ///   directory, permission denied, …).
    init(path: String) throws(EngineError) {
        func unreadable(_ reason: String) -> EngineError { .fileUnreadable(path: path, reason: reason) }
        func systemReason() -> String {
            switch errno {
            case ENOENT: "no such file"
            case EACCES: "permission denied"
            case EISDIR: "it is a directory"
            default: String(cString: strerror(errno))
            }
        }
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever; with
        // it the open returns and the check below refuses what is not a regular file. (It changes
        // nothing for regular files, whose reads never block.)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw unreadable(systemReason()) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw unreadable(systemReason()) }
        guard (status.st_mode & S_IFMT) != S_IFDIR else { throw unreadable("it is a directory") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw unreadable("not a regular file") }
        let count = Int(status.st_size)
        guard count > 0 else {
            mapping = nil
            data = Data()
            return
        }
        guard let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw unreadable("cannot map it into memory: \(systemReason())")
        }
        // The view's deallocator holds the mapping, so `data` (and its slices) stay valid for as
        // long as anyone has them, even after the reader that opened the file is gone.
        let mapping = Unmapper(address: address, count: count)
        self.mapping = mapping
        data = Data(bytesNoCopy: address, count: count, deallocator: .custom { _, _ in _ = mapping })
    }

    /// Gives every resident page of the file back to the kernel. The whole file, not the bytes
    /// just read: a read fault maps more than the page it touched (Linux's 64 KiB "fault-around",
    /// whole large folios on file systems that cache with them, a 2 MiB mapping for huge pages),
    /// so freeing a tensor's own pages left megabytes of its neighbours behind. Pages needed
    /// again later (a header, a tensor read twice) are read again from the page cache.
    func releaseResidentPages() {
        guard let mapping else { return }
        unreleasedBytes.store(0, ordering: .relaxed)
        _ = madvise(mapping.address, mapping.count, MADV_DONTNEED)
    }

    /// Records that a reader has copied `byteCount` bytes of the file, and gives the resident
    /// pages back once ``releaseInterval`` bytes have been read since the last time.
    func finishedReading(byteCount: Int) {
        guard mapping != nil else { return }
        if unreleasedBytes.add(byteCount, ordering: .relaxed).newValue >= Self.releaseInterval {
            releaseResidentPages()
        }
    }
}

/// Unmaps a file mapping when the last view of it goes away.
private final class Unmapper: @unchecked Sendable {  // immutable; munmap runs once, in deinit
    let address: UnsafeMutableRawPointer
    let count: Int
    init(address: UnsafeMutableRawPointer, count: Int) {
        self.address = address
        self.count = count
    }
    deinit { munmap(address, count) }
}
