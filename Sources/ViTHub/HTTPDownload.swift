import CDownload
import Foundation
import ViTEngine

/// Reports download progress: bytes received so far and the total when the server announced one.
public typealias DownloadProgress = @Sendable (_ received: Int64, _ total: Int64?) -> Void

/// What a finished download produced.
struct DownloadedFile {
    var bytes: Int64
    var sha256: String
}

/// Streams one URL to a file through libcurl (`CDownload`, loaded at the first download),
/// hashing it on the way. Memory use is one network chunk; the file is the only copy.
enum HTTPDownload {
    /// The largest file accepted: far above any model here, low enough that a misbehaving server
    /// cannot fill the disk.
    static let maximumBytes: Int64 = 4 << 30

    /// Downloads `url` into `destination` (created, must not exist). On any failure the partial
    /// file is left for the caller to delete and a reason is thrown.
    static func run(_ url: URL, to destination: String, limits: DownloadLimits,
                    progress: DownloadProgress?) throws(DownloadFailure) -> DownloadedFile {
        let descriptor = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DownloadFailure(reason: "cannot create '\(destination)': \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let receiver = Receiver(descriptor: descriptor, progress: progress)
        var status = 0
        var announced: Int64 = -1
        var message = [CChar](repeating: 0, count: 256)
        var cLimits = limits.c
        let outcome = withExtendedLifetime(receiver) {
            vit_download(url.absoluteString, &cLimits, { context, data, count, status, length in
                let receiver = Unmanaged<Receiver>.fromOpaque(context!).takeUnretainedValue()
                return receiver.accept(UnsafeRawBufferPointer(start: data, count: count),
                                       status: status, announced: length) ? 0 : 1
            }, Unmanaged.passUnretained(receiver).toOpaque(), &status, &announced, &message, message.count)
        }
        if let failure = receiver.failure { throw DownloadFailure(reason: failure) }
        if outcome != 0 {
            throw DownloadFailure(reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                                 as: UTF8.self))
        }
        // A response without a body never reached the receiver: check its status here.
        if status != 200 { throw DownloadFailure(reason: "the server answered HTTP \(status)") }
        if announced >= 0, receiver.received != announced {
            throw DownloadFailure(reason: "the connection closed after \(receiver.received) of \(announced) bytes")
        }
        guard fsync(descriptor) == 0 else {
            throw DownloadFailure(reason: "cannot flush the download to disk: \(String(cString: strerror(errno)))")
        }
        return DownloadedFile(bytes: receiver.received, sha256: receiver.hasher.hexDigest())
    }

    /// Checks the status, appends chunks to the file, hashes and counts. Used only on the thread
    /// that runs the transfer (libcurl calls back synchronously inside `vit_download`).
    private final class Receiver {
        private let descriptor: Int32
        private let progress: DownloadProgress?
        var hasher = SHA256()
        var received: Int64 = 0
        var failure: String?

        init(descriptor: Int32, progress: DownloadProgress?) {
            self.descriptor = descriptor
            self.progress = progress
        }

        /// Takes one chunk of the body; false stops the transfer (`failure` says why).
        func accept(_ chunk: UnsafeRawBufferPointer, status: Int, announced: Int64) -> Bool {
            if status != 200 {
                failure = "the server answered HTTP \(status)"
                return false
            }
            if announced > HTTPDownload.maximumBytes {
                failure = "the server announces \(announced) bytes, more than the \(HTTPDownload.maximumBytes)-byte limit"
                return false
            }
            received += Int64(chunk.count)
            if received > HTTPDownload.maximumBytes {
                failure = "the body exceeds the \(HTTPDownload.maximumBytes)-byte limit"
                return false
            }
            var rest = chunk
            while !rest.isEmpty {
                let written = write(descriptor, rest.baseAddress, rest.count)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    failure = "cannot write the download to disk: \(String(cString: strerror(errno)))"
                    return false
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
            hasher.update(chunk)
            progress?(received, announced >= 0 ? announced : nil)
            return true
        }
    }
}

/// Why a download failed, in words for ``EngineError/downloadFailed(url:reason:destination:)``.
struct DownloadFailure: Error {
    var reason: String
}
