import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (POSIX sockets, one thread per connection) for the
/// download tests: each path answers with a fixed body, a status, or a body cut off mid-way.
///
/// `@unchecked Sendable`: the accept and connection threads share `routes` and `requests`, and
/// only touch them with `lock` held; the descriptor is immutable once listening.
final class LocalHTTPServer: @unchecked Sendable {
    enum Response {
        /// 200 with this body, sent in chunks of `chunk` bytes with `pause` seconds between them.
        case body(Data, chunk: Int = 1 << 20, pause: Double = 0)
        /// This status and a short text body.
        case status(Int)
        /// 200 announcing the whole body's length, but the connection closes after `bytes` of it.
        case cut(Data, after: Int)
    }

    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var routes: [String: Response]
    private var paths: [String] = []
    /// Signalled by the accept thread once it has returned and closed the listener.
    private let acceptLoopEnded = DispatchSemaphore(value: 0)

    /// Starts listening on an ephemeral port.
    init(routes: [String: Response]) throws {
        self.routes = routes
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Stops accepting connections (those in progress finish) and returns once the accept
    /// thread has ended. Only that thread closes the descriptor: closed here, its number could be
    /// reused by the next test's server before the thread's next `accept`, which would then
    /// steal that server's connections and answer them from this server's routes.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        acceptLoopEnded.wait()
    }

    func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    /// The paths requested so far, in order.
    var requests: [String] {
        lock.lock()
        defer { lock.unlock() }
        return paths
    }

    func setRoute(_ path: String, _ response: Response) {
        lock.lock()
        routes[path] = response
        lock.unlock()
    }

    private func acceptLoop() {
        defer {
            close(listener)
            acceptLoopEnded.signal()
        }
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return  // the listener was shut down
            }
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var request = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.range(of: Data("\r\n\r\n".utf8)) == nil, request.count < 65_536 {
            let n = read(connection, &buffer, buffer.count)
            if n <= 0 { return }
            request.append(contentsOf: buffer[0..<n])
        }
        let line = String(decoding: request.prefix { $0 != 0x0D }, as: UTF8.self).split(separator: " ")
        guard line.count >= 2 else { return }
        let path = String(line[1])
        lock.lock()
        paths.append(path)
        let response = routes[path] ?? .status(404)
        lock.unlock()

        switch response {
        case let .body(data, chunk, pause):
            guard send(connection, header(200, length: data.count)) else { return }
            var offset = 0
            while offset < data.count {
                let end = min(offset + chunk, data.count)
                guard send(connection, data[offset..<end]) else { return }
                offset = end
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            }
        case let .status(code):
            let body = Data("status \(code)\n".utf8)
            _ = send(connection, header(code, length: body.count) + body)
        case let .cut(data, after):
            _ = send(connection, header(200, length: data.count) + data.prefix(after))
            Thread.sleep(forTimeInterval: 0.05)  // let the client read what was sent before the close
        }
    }

    private func header(_ status: Int, length: Int) -> Data {
        let reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Error"
        return Data("HTTP/1.1 \(status) \(reason)\r\nContent-Length: \(length)\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n".utf8)
    }

    /// Writes all of `data`; false when the client went away.
    private func send(_ connection: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                #if os(Linux)
                let n = Glibc.send(connection, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                #else
                let n = write(connection, raw.baseAddress! + sent, raw.count - sent)
                #endif
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
    }
}
