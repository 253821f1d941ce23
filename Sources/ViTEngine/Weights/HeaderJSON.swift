/// A parsed JSON value of a safetensors header. Integers stay distinct from fractional numbers
/// and booleans, which shape validation depends on.
enum JSONValue: Equatable {
    case null, bool(Bool), int(Int), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    /// The kind of value, for messages such as "expected an object, found a string".
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A short rendering of the value for error messages.
    var text: String {
        switch self {
        case .null: "null"
        case let .bool(value): "\(value)"
        case let .int(value): "\(value)"
        case let .number(value): "\(value)"
        case let .string(value): "\"\(value)\""
        case let .array(items): "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .object: "{…}"
        }
    }
}

/// A strict JSON parser (RFC 8259) for safetensors headers, written out rather than
/// `JSONDecoder` because a header must be refused where the safetensors library refuses it and
/// Foundation accepts it silently:
/// - a key twice in one object (Foundation keeps the last: a tensor could be named twice with two
///   byte ranges, and which one a reader sees would depend on the reader);
/// - `1000.0` or `1e3` as a shape dimension or offset (Foundation reads them as the integer
///   1000): a number is an integer here only when written as one (`-`? digits).
/// Nesting is limited to `maximumDepth`, so a hostile header cannot exhaust the stack.
struct HeaderJSONParser {
    /// Why and where (byte offset in the header) parsing stopped.
    struct Failure: Error, Equatable {
        var reason: String
        var offset: Int
        var description: String { "\(reason) at byte \(offset)" }
    }

    static let maximumDepth = 64

    private let bytes: [UInt8]
    private var position = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses `text` as exactly one JSON value, surrounded by nothing but whitespace.
    static func parse(_ text: [UInt8]) throws(Failure) -> JSONValue {
        var parser = HeaderJSONParser(text)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw parser.failure("unexpected text after the JSON value") }
        return value
    }

    private func failure(_ reason: String) -> Failure { Failure(reason: reason, offset: position) }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(Failure) -> JSONValue {
        let expected = Array(literal.utf8)
        guard bytes.count - position >= expected.count, Array(bytes[position..<(position + expected.count)]) == expected else {
            throw failure("invalid literal (expected '\(literal)')")
        }
        position += expected.count
        return value
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw failure("unexpected end of the header") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character '\(Unicode.Scalar(bytes[position]))'")
        }
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
        position += 1  // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let keyOffset = position
            let key = try string()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':' after a key") }
            position += 1
            let item = try value(depth: depth)
            guard members.updateValue(item, forKey: key) == nil else {
                throw Failure(reason: "the key \"\(key)\" appears twice in one object", offset: keyOffset)
            }
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of the header in an object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            guard bytes[position] == UInt8(ascii: "}") else { throw failure("expected ',' or '}' in an object") }
            position += 1
            return .object(members)
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
        position += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            items.append(try value(depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of the header in an array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            guard bytes[position] == UInt8(ascii: "]") else { throw failure("expected ',' or ']' in an array") }
            position += 1
            return .array(items)
        }
    }

    /// A number: an integer when written as one and within Int's range, else a Double.
    private mutating func number() throws(Failure) -> JSONValue {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let digits = { (p: inout Int, b: [UInt8]) -> Int in
            let s = p
            while p < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[p]) { p += 1 }
            return p - s
        }
        let integerDigits = digits(&position, bytes)
        guard integerDigits > 0 else { throw failure("a number needs digits") }
        guard !(integerDigits > 1 && bytes[position - integerDigits] == UInt8(ascii: "0")) else {
            throw Failure(reason: "a number may not have leading zeros", offset: start)
        }
        var integral = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            integral = false
            guard digits(&position, bytes) > 0 else { throw failure("a fraction needs digits") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            integral = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&position, bytes) > 0 else { throw failure("an exponent needs digits") }
        }
        let literal = String(decoding: bytes[start..<position], as: UTF8.self)
        if integral, let value = Int(literal) { return .int(value) }
        guard let value = Double(literal) else { throw Failure(reason: "the number \(literal) is out of range", offset: start) }
        return .number(value)
    }

    /// A string, its escapes decoded (surrogate pairs joined; a lone surrogate is an error).
    private mutating func string() throws(Failure) -> String {
        position += 1  // "
        var run = position  // start of the current stretch of plain bytes
        var text = ""
        func flush(_ end: Int) { text += String(decoding: bytes[run..<end], as: UTF8.self) }
        while true {
            guard position < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                flush(position)
                position += 1
                return text
            }
            guard byte >= 0x20 else { throw failure("a control character in a string must be escaped") }
            guard byte == UInt8(ascii: "\\") else { position += 1; continue }
            flush(position)
            position += 1
            guard position < bytes.count else { throw failure("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): text += "\""
            case UInt8(ascii: "\\"): text += "\\"
            case UInt8(ascii: "/"): text += "/"
            case UInt8(ascii: "b"): text += "\u{08}"
            case UInt8(ascii: "f"): text += "\u{0C}"
            case UInt8(ascii: "n"): text += "\n"
            case UInt8(ascii: "r"): text += "\r"
            case UInt8(ascii: "t"): text += "\t"
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw failure("a high surrogate without its low surrogate")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("a high surrogate without its low surrogate") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw failure("a low surrogate without its high surrogate")
                }
                text.unicodeScalars.append(Unicode.Scalar(UInt32(code))!)
            default: throw failure("invalid escape '\\\(Unicode.Scalar(escape))'")
            }
            run = position
        }
    }

    private mutating func hex4() throws(Failure) -> Int {
        guard bytes.count - position >= 4, bytes[position..<(position + 4)].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
              let code = Int(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16) else {
            throw failure("\\u needs four hex digits")
        }
        position += 4
        return code
    }
}
