import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response as the tests see it.
struct HTTPReply: Sendable {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (empty if it is not one).
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }

    /// `error.code` of a JSON error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// A minimal HTTP/1.1 client over a blocking POSIX socket, each request on a thread of its own
/// (so many requests really are in flight at once, whatever the size of any thread pool). It
/// writes exactly the bytes a test asks for — including a `Content-Length` that is not followed
/// by that many bytes, or a chunked body — and reads the answer by its `Content-Length`.
enum TestHTTPClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// How the body is framed.
    enum Framing: Sendable {
        /// `Content-Length` of the body (the default).
        case length
        /// `Content-Length: n` but only the given body is sent.
        case declaredLength(Int)
        /// `Transfer-Encoding: chunked`, in chunks of this many bytes.
        case chunked(Int)
    }

    static func send(port: Int, _ method: String, _ path: String, headers: [String: String] = [:],
                     body: Data = Data(), framing: Framing = .length) async throws -> HTTPReply {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result {
                    try exchange(port: port, method: method, path: path, headers: headers, body: body, framing: framing)
                })
            }
            thread.start()
        }
    }

    /// True if a TCP connection to the port is refused (nothing listens there any more).
    /// Connects, sends `bytes` and waits up to `seconds` for the server to close the connection
    /// (end of file, or a reset) without answering it; false if it is still open then.
    static func closedByServer(port: Int, sending bytes: Data, within seconds: Int) throws -> Bool {
        let fd = try connect(port: port)
        defer { close(fd) }
        if !bytes.isEmpty { try write(fd, bytes) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
            // Bytes before the close (an error answer such as 408) are fine: keep reading.
        }
    }

    /// Sends `bytes` exactly as given (any version, any header) and reads one answer: its status
    /// line, the reply, and whether the server then closed the connection within `seconds`.
    static func rawExchange(port: Int, _ bytes: Data, closedWithin seconds: Int = 5) throws
        -> (statusLine: String, reply: HTTPReply, closed: Bool) {
        let fd = try connect(port: port)
        defer { close(fd) }
        try write(fd, bytes)
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A HEAD answer has a Content-Length but no body.
        let (statusLine, reply) = try readReply(fd, bodyless: bytes.starts(with: Data("HEAD ".utf8)))
        var probe = [UInt8](repeating: 0, count: 4096)
        var closed = false
        while true {
            let count = read(fd, &probe, probe.count)
            if count > 0 { continue }
            closed = count == 0 || errno == ECONNRESET
            break
        }
        return (statusLine, reply, closed)
    }

    /// Connects and sends `bytes` one at a time, `interval` seconds apart (a slowloris client),
    /// until the server closes the connection (true) or `seconds` pass (false).
    static func closedWhileTrickling(port: Int, _ bytes: Data, interval: Double, within seconds: Double) throws -> Bool {
        let fd = try connect(port: port)
        defer { close(fd) }
        let start = Date()
        var index = bytes.startIndex
        var probe = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(start) < seconds {
            if index < bytes.endIndex {
                var byte = bytes[index]
                if Glibc.send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) < 0 { return true }
                index += 1
            }
            let count = recv(fd, &probe, probe.count, Int32(MSG_DONTWAIT))
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            usleep(UInt32(interval * 1_000_000))
        }
        return false
    }

    /// A connection left open for the caller to close.
    static func openConnection(port: Int) throws -> Int32 { try connect(port: port) }

    /// Whether the server has closed `fd` (end of file or an error on a read that does not wait).
    static func isClosed(_ fd: Int32) -> Bool {
        var probe = [UInt8](repeating: 0, count: 16)
        let count = recv(fd, &probe, probe.count, Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    static func isRefused(port: Int) -> Bool {
        guard let fd = try? connect(port: port) else { return true }
        close(fd)
        return false
    }

    private static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        // Hang guard: no test answer takes a minute.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "cannot connect to 127.0.0.1:\(port): errno \(code)")
        }
        return fd
    }

    private static func exchange(port: Int, method: String, path: String, headers: [String: String], body: Data,
                                 framing: Framing) throws -> HTTPReply {
        let fd = try connect(port: port)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        var payload = Data()
        switch framing {
        case .length:
            head += "Content-Length: \(body.count)\r\n"
            payload = body
        case let .declaredLength(length):
            head += "Content-Length: \(length)\r\n"
            payload = body
        case let .chunked(size):
            head += "Transfer-Encoding: chunked\r\n"
            var offset = 0
            while offset < body.count {
                let chunk = body[(body.startIndex + offset)..<(body.startIndex + min(offset + size, body.count))]
                payload += Data((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Data("\r\n".utf8)
                offset += size
            }
            payload += Data("0\r\n\r\n".utf8)
        }
        try write(fd, Data((head + "\r\n").utf8) + payload)
        return try readReply(fd).reply
    }

    private static func write(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
                offset += sent
            }
        }
    }

    private static func readReply(_ fd: Int32, bodyless: Bool = false) throws -> (statusLine: String, reply: HTTPReply) {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let separator = Data("\r\n\r\n".utf8)
        var headEnd: Range<Data.Index>?
        var expected: Int?
        var reply = HTTPReply(status: 0, headers: [:], body: Data())
        var statusLine = ""
        while true {
            if headEnd == nil, let range = received.range(of: separator) {
                headEnd = range
                let lines = String(decoding: received[..<range.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let statusParts = lines[0].split(separator: " ")
                guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
                    throw Failure(description: "bad status line '\(lines[0])'")
                }
                reply.status = status
                statusLine = lines[0]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    reply.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                expected = bodyless ? 0 : reply.headers["content-length"].flatMap { Int($0) }
            }
            if let headEnd, let expected, received.count - headEnd.upperBound >= expected {
                reply.body = received[headEnd.upperBound..<(headEnd.upperBound + expected)]
                return (statusLine, reply)
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
                continue
            }
            guard count == 0, let headEnd else {
                throw Failure(description: count == 0 ? "connection closed before a response" : "recv failed: errno \(errno)")
            }
            // Closed without Content-Length: the body is what came.
            reply.body = received[headEnd.upperBound...]
            return (statusLine, reply)
        }
    }
}
