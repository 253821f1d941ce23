import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and writes ``Tensor``s as NumPy `.npy` files.
///
/// Reading accepts format versions 1.0, 2.0 and 3.0 holding little-endian `float32` (`'<f4'`),
/// `float64` (`'<f8'`) or `float16` (`'<f2'`) data in C order; the values are converted to Float.
/// Writing always produces version 1.0 `'<f4'` files, which every NumPy release reads.
public enum NPY {
    /// Headers above this size are rejected: NumPy's own headers are a few hundred bytes at most,
    /// and the limit keeps a corrupt length from making us scan megabytes of garbage.
    public static let maxHeaderBytes = 1 << 20

    /// Reads the `.npy` file at `path`.
    ///
    /// - Throws: ``EngineError/fileUnreadable(path:reason:)`` if the file cannot be read,
    ///   ``EngineError/invalidNPY(path:reason:)`` if it is malformed or holds another dtype.
    public static func read(path: String) throws(EngineError) -> Tensor {
        try read(data: MappedFile(path: path).data, path: path)
    }

    /// Parses `.npy` bytes already in memory.
    ///
    /// - Parameters:
    ///   - data: The whole file's contents.
    ///   - path: Where the bytes came from; only used in error messages.
    /// - Throws: ``EngineError/invalidNPY(path:reason:)`` if the bytes are malformed, hold a dtype
    ///   other than `'<f4'`, `'<f8'` or `'<f2'`, or are in Fortran order.
    public static func read(data: Data, path: String) throws(EngineError) -> Tensor {
        func invalid(_ reason: String) -> EngineError { .invalidNPY(path: path, reason: reason) }
        let bytes = [UInt8](data)

        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 8, Array(bytes[0..<6]) == magic else {
            throw invalid("does not start with the \\x93NUMPY magic string")
        }
        let lengthSize: Int
        switch (bytes[6], bytes[7]) {
        case (1, 0): lengthSize = 2
        case (2, 0), (3, 0): lengthSize = 4  // 2.0 widened the length field; 3.0 made the header UTF-8
        default: throw invalid("unsupported format version \(bytes[6]).\(bytes[7]); expected 1.0, 2.0 or 3.0")
        }
        guard bytes.count >= 8 + lengthSize else { throw invalid("file ends inside the header length field") }
        var headerLength = 0
        for index in (0..<lengthSize).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + index]) }
        guard headerLength <= maxHeaderBytes else {
            throw invalid("header length \(headerLength) exceeds the \(maxHeaderBytes)-byte limit")
        }
        let dataStart = 8 + lengthSize + headerLength
        guard dataStart <= bytes.count else {
            throw invalid("header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let headerBytes = bytes[(8 + lengthSize)..<dataStart]
        // Versions 1.0 and 2.0 define the header as Latin-1, 3.0 as UTF-8.
        guard let header = String(bytes: headerBytes, encoding: bytes[6] == 3 ? .utf8 : .isoLatin1) else {
            throw invalid("header is not valid \(bytes[6] == 3 ? "UTF-8" : "Latin-1") text")
        }

        var parser = PythonLiteralParser(text: header)
        let entries: [String: PythonValue]
        do {
            entries = try parser.parseHeaderDict()
        } catch {
            throw invalid("header is not a Python dict literal: \(error.message) (header: \(header.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }

        guard case let .string(descr)? = entries["descr"] else { throw invalid("header lacks a string 'descr'") }
        guard case let .bool(fortranOrder)? = entries["fortran_order"] else {
            throw invalid("header lacks a boolean 'fortran_order'")
        }
        guard case let .tuple(shapeItems)? = entries["shape"] else { throw invalid("header lacks a tuple 'shape'") }
        let itemSize: Int
        switch descr {
        case "<f4": itemSize = 4
        case "<f8": itemSize = 8
        case "<f2": itemSize = 2
        default:
            throw invalid("dtype descr '\(descr)' is not supported; expected little-endian float '<f4', '<f8' or '<f2'")
        }
        guard !fortranOrder else {
            throw invalid("array with descr '\(descr)' is stored in Fortran (column-major) order; save it in C order")
        }
        var shape: [Int] = []
        var count = 1
        for item in shapeItems {
            guard case let .int(dimension) = item, dimension >= 0 else {
                throw invalid("shape entries must be non-negative integers")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw invalid("shape \(shape + [dimension])… overflows") }
            shape.append(dimension)
            count = product
        }
        let (expected, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else { throw invalid("shape \(shape) of '\(descr)' overflows") }
        let actual = bytes.count - dataStart
        guard actual == expected else {
            throw invalid("shape \(shape) of '\(descr)' needs \(expected) data bytes but the file holds \(actual)\(actual < expected ? " (truncated)" : "")")
        }

        let values = bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count {
                    let offset = dataStart + index * itemSize
                    switch itemSize {
                    case 4: buffer[index] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    case 8: buffer[index] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
                    default: buffer[index] = halfBitsToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    }
                }
                initialized = count
            }
        }
        return Tensor(shape: shape, values: values)
    }

    /// The array as `.npy` bytes: version 1.0 (2.0 only if the header outgrows 64 KiB), descr
    /// `'<f4'`, C order, header padded with spaces and ending in `'\n'` so that the data starts at
    /// a multiple of 64 bytes, as NumPy does.
    ///
    /// - Throws: ``EngineError/writeFailed(path:reason:)`` (path `"(in memory)"`) if a dimension
    ///   is negative or the shape does not match the number of values.
    public static func encode(_ tensor: Tensor) throws(EngineError) -> Data {
        try encode(tensor, path: "(in memory)")
    }

    /// Writes the array to `path` as a version 1.0 `'<f4'` `.npy` file (see ``encode(_:)``),
    /// replacing any existing file atomically via a temporary file and a rename, so a failure
    /// never leaves a half-written file behind.
    ///
    /// - Throws: ``EngineError/writeFailed(path:reason:)``.
    public static func write(_ tensor: Tensor, path: String) throws(EngineError) {
        try writeFileAtomically(try encode(tensor, path: path), to: path)
    }

    private static func encode(_ tensor: Tensor, path: String) throws(EngineError) -> Data {
        let shape = tensor.shape, values = tensor.values
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: max(dimension, 0))
            guard dimension >= 0, !overflow else { throw .writeFailed(path: path, reason: "invalid shape \(shape)") }
            count = product
        }
        guard count == values.count else {
            throw .writeFailed(path: path, reason: "shape \(shape) needs \(count) values but the array has \(values.count)")
        }
        // Python's tuple syntax: a 1-tuple needs its trailing comma.
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"

        var prefixLength = 10  // magic, version and a 2-byte length
        var padding = (64 - (prefixLength + dict.utf8.count + 1) % 64) % 64
        if dict.utf8.count + padding + 1 > Int(UInt16.max) {
            prefixLength = 12
            padding = (64 - (prefixLength + dict.utf8.count + 1) % 64) % 64
        }
        let header = Array((dict + String(repeating: " ", count: padding) + "\n").utf8)

        var output = Data(count: prefixLength + header.count + count * 4)
        output.withUnsafeMutableBytes { raw in
            let magic: [UInt8] = [0x93] + Array("NUMPY".utf8) + [prefixLength == 10 ? 1 : 2, 0]
            raw.copyBytes(from: magic)
            if prefixLength == 10 {
                raw.storeBytes(of: UInt16(header.count).littleEndian, toByteOffset: 8, as: UInt16.self)
            } else {
                raw.storeBytes(of: UInt32(header.count).littleEndian, toByteOffset: 8, as: UInt32.self)
            }
            raw.baseAddress!.advanced(by: prefixLength).copyMemory(from: header, byteCount: header.count)
            var offset = prefixLength + header.count
            for value in values {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
                offset += 4
            }
        }
        return output
    }
}

/// A value in the Python literal subset NumPy writes into `.npy` headers.
private enum PythonValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonValue])
}

private struct PythonLiteralError: Error {
    let message: String
}

/// Parses the header's dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`.
/// Written by hand rather than matched with a fixed pattern so that the spacing, quoting and
/// trailing commas of other writers (and older NumPy releases, e.g. `3L` longs) are accepted.
private struct PythonLiteralParser {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    /// Deep nesting only appears in hostile input; the limit keeps recursion off the stack's edge.
    private static let maxDepth = 32

    init(text: String) {
        scalars = Array(text.unicodeScalars)
    }

    mutating func parseHeaderDict() throws(PythonLiteralError) -> [String: PythonValue] {
        skipWhitespace()
        try expect("{")
        var result: [String: PythonValue] = [:]
        while true {
            skipWhitespace()
            if peek == "}" { position += 1; break }
            guard case let .string(key) = try parseValue(depth: 1) else { throw failure("dict keys must be strings") }
            skipWhitespace()
            try expect(":")
            result[key] = try parseValue(depth: 1)
            skipWhitespace()
            if peek == "," { position += 1; continue }
            try expect("}")
            break
        }
        skipWhitespace()
        guard position == scalars.count else { throw failure("unexpected text after the dict") }
        return result
    }

    private var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private mutating func parseValue(depth: Int) throws(PythonLiteralError) -> PythonValue {
        guard depth <= Self.maxDepth else { throw failure("nesting is too deep") }
        skipWhitespace()
        guard let first = peek else { throw failure("unexpected end of header") }
        switch first {
        case "'", "\"": return .string(try parseString(quote: first))
        case "(", "[": return .tuple(try parseSequence(close: first == "(" ? ")" : "]", depth: depth))
        case "-", "+", "0"..."9": return .int(try parseInt())
        default:
            for (word, value) in [("True", PythonValue.bool(true)), ("False", .bool(false)), ("None", .none)]
            where scalars[position...].starts(with: word.unicodeScalars) {
                position += word.unicodeScalars.count
                return value
            }
            throw failure("unexpected '\(first)'")
        }
    }

    private mutating func parseString(quote: Unicode.Scalar) throws(PythonLiteralError) -> String {
        position += 1
        var text = String.UnicodeScalarView()
        while let scalar = peek {
            position += 1
            if scalar == quote { return String(text) }
            if scalar == "\\" {
                // Escapes never occur in NumPy's own headers; taking the next character literally
                // is enough to keep quotes inside strings from ending them early.
                guard let escaped = peek else { break }
                position += 1
                text.append(escaped)
            } else {
                text.append(scalar)
            }
        }
        throw failure("unterminated string")
    }

    private mutating func parseSequence(close: Unicode.Scalar, depth: Int) throws(PythonLiteralError) -> [PythonValue] {
        position += 1
        var items: [PythonValue] = []
        while true {
            skipWhitespace()
            if peek == close { position += 1; return items }
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if peek == "," { position += 1; continue }
            try expect(close)
            return items
        }
    }

    private mutating func parseInt() throws(PythonLiteralError) -> Int {
        let start = position
        if peek == "-" || peek == "+" { position += 1 }
        while let scalar = peek, ("0"..."9").contains(scalar) { position += 1 }
        let digits = String(String.UnicodeScalarView(scalars[start..<position]))
        if peek == "L" || peek == "l" { position += 1 }  // Python 2 long suffix, written by old NumPy
        guard let value = Int(digits) else { throw failure("'\(digits)' is not an integer that fits in 64 bits") }
        return value
    }

    private mutating func skipWhitespace() {
        while let scalar = peek, scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" { position += 1 }
    }

    private mutating func expect(_ scalar: Unicode.Scalar) throws(PythonLiteralError) {
        guard peek == scalar else {
            throw failure(peek.map { "expected '\(scalar)' but found '\($0)'" } ?? "expected '\(scalar)' at end of header")
        }
        position += 1
    }

    private func failure(_ message: String) -> PythonLiteralError {
        PythonLiteralError(message: "\(message) at character \(position)")
    }
}
