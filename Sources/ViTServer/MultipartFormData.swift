import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `multipart/form-data` body (RFC 7578, framed as RFC 2046 says), parsed whole and strictly.
///
/// The server parses uploads itself: MultipartKit 4.7.1 indexed a 128-entry table with each byte
/// of a part's header name, so one byte above 0x7F in a header name trapped and ended `vit serve`
/// (found by `scripts/fuzz.sh`, target FuzzMultipart). Here every byte is checked against the
/// grammar, the boundary is searched in linear time whatever the body, and the
/// headers of a part are bounded.
struct MultipartFormData {
    /// One part: its header fields (names lowercased) and its body's bytes.
    struct Part {
        var headers: [(name: String, value: String)]
        var body: Data

        /// The first value of the header field `name` (lowercase).
        func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
    }

    /// Why a body is not valid `multipart/form-data`.
    enum Failure: Error, Equatable {
        /// The framing is wrong; the text says where and how.
        case malformed(String)
        /// The body ends before the closing delimiter.
        case cutShort
    }

    /// The parts, in order.
    var parts: [Part]

    /// Longest header block of one part.
    static let maximumHeaderBytes = 16 << 10

    /// Parses `body` delimited by `boundary`. A preamble before the first delimiter and an
    /// epilogue after the closing one are ignored, as RFC 2046 says.
    init(_ body: UnsafeRawBufferPointer, boundary: String) throws(Failure) {
        let delimiter = Array("--\(boundary)".utf8)
        let bytes = body
        // The first delimiter starts the body or a line.
        var position: Int
        if bytes.starts(with: delimiter) {
            position = delimiter.count
        } else if let found = Self.find(Array("\r\n".utf8) + delimiter, in: bytes, from: 0) {
            position = found + 2 + delimiter.count
        } else {
            throw .malformed("no '--\(boundary)' line starts a part")
        }
        var parts: [Part] = []
        let nextDelimiter = Array("\r\n".utf8) + delimiter
        while true {
            // After a delimiter: "--" closes the body; else optional padding and a line break.
            if Self.matches(Array("--".utf8), in: bytes, at: position) {
                guard !parts.isEmpty else { throw .malformed("it closes before its first part") }
                self.parts = parts
                return
            }
            while position < bytes.count, bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t") {
                position += 1
            }
            guard position + 2 <= bytes.count else { throw .cutShort }
            guard Self.matches(Array("\r\n".utf8), in: bytes, at: position) else {
                throw .malformed("a '--\(boundary)' delimiter is followed by something other than a line break")
            }
            position += 2
            // The part's headers, up to an empty line.
            let headers: [(name: String, value: String)]
            let bodyStart: Int
            if Self.matches(Array("\r\n".utf8), in: bytes, at: position) {
                headers = []
                bodyStart = position + 2
            } else {
                let window = min(bytes.count, position + Self.maximumHeaderBytes + 4)
                guard let end = Self.find(Array("\r\n\r\n".utf8), in: UnsafeRawBufferPointer(rebasing: bytes[..<window]), from: position) else {
                    if window == bytes.count { throw .cutShort }
                    throw .malformed("part \(parts.count + 1)'s headers are longer than \(Self.maximumHeaderBytes) bytes")
                }
                headers = try Self.headers(UnsafeRawBufferPointer(rebasing: bytes[position..<end]), part: parts.count + 1)
                bodyStart = end + 4
            }
            guard let bodyEnd = Self.find(nextDelimiter, in: bytes, from: bodyStart) else { throw .cutShort }
            parts.append(Part(headers: headers, body: Data(UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<bodyEnd]))))
            position = bodyEnd + nextDelimiter.count
        }
    }

    /// Header lines `name: value` (RFC 9110 field names; values without control characters).
    private static func headers(_ block: UnsafeRawBufferPointer, part: Int) throws(Failure) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        var start = 0
        while start < block.count {
            let end = find(Array("\r\n".utf8), in: block, from: start) ?? block.count
            let line = UnsafeRawBufferPointer(rebasing: block[start..<end])
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                throw .malformed("part \(part) has a header line without a 'name:'")
            }
            guard line[..<colon].allSatisfy(isTokenByte) else {
                throw .malformed("part \(part) has a header name with a byte that a field name cannot hold")
            }
            let value = line[(colon + 1)...]
            guard value.allSatisfy({ $0 == UInt8(ascii: "\t") || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw .malformed("part \(part) has a header value with a control character")
            }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            fields.append((name, String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces)))
            start = end + 2
        }
        return fields
    }

    /// RFC 9110's `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func matches(_ pattern: [UInt8], in bytes: UnsafeRawBufferPointer, at position: Int) -> Bool {
        position + pattern.count <= bytes.count && pattern.indices.allSatisfy { bytes[position + $0] == pattern[$0] }
    }

    /// The first offset ≥ `start` where `pattern` occurs. Candidates are found with `memchr` on
    /// the pattern's first byte (a CR, which a boundary cannot hold), so a partial match of k
    /// bytes moves the next candidate at least k bytes on: linear time on any body.
    private static func find(_ pattern: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, let first = pattern.first else { return nil }
        var position = start
        while position + pattern.count <= bytes.count {
            guard let hit = memchr(base + position, Int32(first), bytes.count - pattern.count + 1 - position) else { return nil }
            let candidate = UnsafeRawPointer(hit) - base
            if matches(pattern, in: bytes, at: candidate) { return candidate }
            position = candidate + 1
        }
        return nil
    }
}
