import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ViTEngine

/// Reports download progress: bytes received so far and the total when the server announced one.
public typealias DownloadProgress = @Sendable (_ received: Int64, _ total: Int64?) -> Void

/// What a finished download produced.
struct DownloadedFile {
    var bytes: Int64
    var sha256: String
}

/// Streams one URL to a file with Foundation's `URLSession` (libcurl on Linux), hashing it on
/// the way. Memory use is one network chunk; the file is the only copy.
enum HTTPDownload {
    /// The largest file accepted: far above any model here, low enough that a misbehaving server
    /// cannot fill the disk.
    static let maximumBytes: Int64 = 4 << 30

    /// Downloads `url` into `destination` (created, must not exist). On any failure the partial
    /// file is left for the caller to delete and a reason is thrown.
    static func run(_ url: URL, to destination: String, progress: DownloadProgress?) throws(DownloadFailure) -> DownloadedFile {
        guard FileManager.default.createFile(atPath: destination, contents: nil),
              let handle = FileHandle(forWritingAtPath: destination) else {
            throw DownloadFailure(reason: "cannot create '\(destination)'")
        }
        let receiver = Receiver(file: handle, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60  // idle time between packets, not the whole transfer
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
        session.dataTask(with: url).resume()
        receiver.finished.wait()
        session.finishTasksAndInvalidate()
        try? handle.close()
        return try receiver.result()
    }

    /// The URLSession delegate: checks the status, appends chunks to the file, hashes and counts.
    ///
    /// `@unchecked Sendable`: URLSession calls it on its own queue while `run` waits on
    /// `finished`; every mutable field is only touched with `lock` held.
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let finished = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private let file: FileHandle
        private let progress: DownloadProgress?
        private var hasher = SHA256()
        private var received: Int64 = 0
        private var expected: Int64?
        private var failure: String?

        init(file: FileHandle, progress: DownloadProgress?) {
            self.file = file
            self.progress = progress
        }

        func result() throws(DownloadFailure) -> DownloadedFile {
            lock.lock()
            defer { lock.unlock() }
            if let failure { throw DownloadFailure(reason: failure) }
            return DownloadedFile(bytes: received, sha256: hasher.hexDigest())
        }

        private func fail(_ reason: String) {
            if failure == nil { failure = reason }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            lock.lock()
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if status != 200 {
                fail("the server answered HTTP \(status)")
            } else if response.expectedContentLength > HTTPDownload.maximumBytes {
                fail("the server announces \(response.expectedContentLength) bytes, more than the \(HTTPDownload.maximumBytes)-byte limit")
            } else if response.expectedContentLength >= 0 {
                expected = response.expectedContentLength
            }
            let proceed = failure == nil
            lock.unlock()
            completionHandler(proceed ? .allow : .cancel)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            lock.lock()
            guard failure == nil else { lock.unlock(); return }
            do {
                try file.write(contentsOf: data)
                hasher.update(data)
                received += Int64(data.count)
                if received > HTTPDownload.maximumBytes { fail("the body exceeds the \(HTTPDownload.maximumBytes)-byte limit") }
            } catch {
                fail("cannot write the download to disk: \(error.localizedDescription)")
            }
            let (now, total, stop) = (received, expected, failure != nil)
            lock.unlock()
            if stop { dataTask.cancel() } else { progress?(now, total) }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            lock.lock()
            if let error {
                fail((error as NSError).userInfo[NSLocalizedDescriptionKey] as? String ?? "\(error)")
            } else if let expected, received != expected {
                fail("the connection closed after \(received) of \(expected) bytes")
            }
            if failure == nil {
                do { try file.synchronize() } catch { fail("cannot flush the download to disk: \(error.localizedDescription)") }
            }
            lock.unlock()
            finished.signal()
        }
    }
}

/// Why a download failed, in words for ``EngineError/downloadFailed(url:reason:destination:)``.
struct DownloadFailure: Error {
    var reason: String
}
