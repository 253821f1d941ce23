import Foundation

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

/// Reads the whole file at `path`, memory-mapped so that large files are paged in on demand.
/// The common failures get their own wording because Foundation's messages for them are vague on
/// some platforms ("The operation could not be completed").
func readFileMapped(_ path: String) throws(EngineError) -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw .fileUnreadable(path: path, reason: "no such file")
    }
    guard !isDirectory.boolValue else { throw .fileUnreadable(path: path, reason: "it is a directory") }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .fileUnreadable(path: path, reason: "permission denied")
        }
        throw .fileUnreadable(path: path, reason: error.localizedDescription)
    }
}
