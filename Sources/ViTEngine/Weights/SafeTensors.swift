import Foundation

/// Where one tensor lives in a safetensors file and how to interpret its bytes.
public struct TensorInfo: Sendable, Equatable {
    /// The tensor's name, the key in the file's JSON header.
    public let name: String
    /// The safetensors dtype string, e.g. `"F32"`, `"F16"`, `"BF16"`, `"I64"`.
    public let dtype: String
    /// The tensor's dimensions, outermost first (row-major layout).
    public let shape: [Int]
    /// The tensor's bytes relative to the start of the data section (the byte after the header),
    /// exactly as stored in `data_offsets`. Add ``SafeTensorsFile/dataSectionOffset`` for a file offset.
    public let byteRange: Range<Int>

    /// Creates a description of a stored tensor.
    public init(name: String, dtype: String, shape: [Int], byteRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteRange = byteRange
    }
}

/// A safetensors file held in memory (memory-mapped when read from disk), validated on opening.
///
/// The layout is an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping tensor
/// names to `{"dtype", "shape", "data_offsets"}` (plus an optional `"__metadata__"` object of
/// strings), then the data section that the offsets index into.
public struct SafeTensorsFile: Sendable {
    /// Headers above this size are rejected before parsing; the reference implementation uses the
    /// same limit so that a corrupt length cannot make us allocate or scan gigabytes.
    public static let maxHeaderBytes = 100_000_000

    /// The file's path, used in error messages.
    public let path: String
    /// The names of all tensors, sorted.
    public let names: [String]
    /// The string pairs of the header's `"__metadata__"` object (empty when absent).
    public let metadata: [String: String]
    /// Offset of the data section from the start of the file: 8 plus the header length.
    public let dataSectionOffset: Int

    private let storage: Data
    private let mapping: MappedFile?
    private let tensors: [String: TensorInfo]

    /// Opens and validates the safetensors file at `path`, memory-mapping it so that large
    /// weights are paged in on demand rather than copied.
    ///
    /// - Throws: ``EngineError/fileUnreadable(path:reason:)`` if the file cannot be read,
    ///   ``EngineError/invalidSafetensors(path:reason:)`` if it is malformed.
    public init(path: String) throws(EngineError) {
        let file = try MappedFile(path: path)
        try self.init(data: file.data, path: path, mapping: file)
    }

    /// Parses and validates safetensors bytes already in memory.
    ///
    /// - Parameters:
    ///   - data: The whole file's contents.
    ///   - path: Where the bytes came from; only used in error messages.
    /// - Throws: ``EngineError/invalidSafetensors(path:reason:)`` if the bytes are malformed.
    public init(data: Data, path: String) throws(EngineError) {
        try self.init(data: data, path: path, mapping: nil)
    }

    /// `mapping` is the file `data` views, if it was mapped: ``floats(_:)`` gives each tensor's
    /// pages back once it has copied them, so loading never holds the whole file resident.
    init(data: Data, path: String, mapping: MappedFile?) throws(EngineError) {
        func invalid(_ reason: String) -> EngineError { .invalidSafetensors(path: path, reason: reason) }

        guard data.count >= 8 else {
            throw invalid("file is \(data.count) bytes, too short for the 8-byte header length")
        }
        let declared = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        // Compare as UInt64 first: a corrupt length may not even fit in Int.
        guard declared <= UInt64(Self.maxHeaderBytes) else {
            throw invalid("oversized header: length \(declared) exceeds the \(Self.maxHeaderBytes)-byte limit (not a safetensors file?)")
        }
        guard declared <= UInt64(data.count - 8) else {
            throw invalid("header length \(declared) exceeds the \(data.count - 8) bytes after the length field (truncated file?)")
        }
        let headerLength = Int(declared)
        let headerStart = data.startIndex + 8
        let header = data.subdata(in: headerStart..<(headerStart + headerLength))
        let dataLength = data.count - 8 - headerLength

        guard String(data: header, encoding: .utf8) != nil else { throw invalid("header is not valid UTF-8") }
        let json: JSONValue
        do {
            json = try HeaderJSONParser.parse([UInt8](header))
        } catch {
            throw invalid("header is not valid JSON (\(error.description))")
        }
        guard case let .object(root) = json else { throw invalid("header is \(json.kind), expected a JSON object") }

        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        // Sorted, so that a file with several faults always reports the same one.
        for (name, value) in root.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value, invalid: invalid)
                continue
            }
            let info = try Self.parseEntry(name: name, value: value, invalid: invalid)
            guard info.byteRange.upperBound <= dataLength else {
                throw invalid("tensor '\(name)' ends at byte \(info.byteRange.upperBound) but the data section holds only \(dataLength) bytes")
            }
            tensors[name] = info
        }
        // Two tensors may not share bytes (the safetensors library refuses such a file): one would
        // silently read the other's values. Empty tensors occupy no bytes.
        let occupied = tensors.values.filter { !$0.byteRange.isEmpty }
            .sorted { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        for (first, second) in zip(occupied, occupied.dropFirst()) where second.byteRange.lowerBound < first.byteRange.upperBound {
            throw invalid("tensors '\(first.name)' (bytes \(first.byteRange.lowerBound)..<\(first.byteRange.upperBound)) and "
                          + "'\(second.name)' (bytes \(second.byteRange.lowerBound)..<\(second.byteRange.upperBound)) overlap")
        }
        // Nor may bytes lie between or after them (the safetensors library refuses that too): the
        // data section is the tensors, back to back, and nothing else can hide in the file.
        var end = 0
        for info in occupied {
            guard info.byteRange.lowerBound == end else {
                throw invalid("bytes \(end)..<\(info.byteRange.lowerBound) of the data section belong to no tensor "
                              + "(before '\(info.name)'); tensors must follow one another with no gap")
            }
            end = info.byteRange.upperBound
        }
        guard end == dataLength else {
            throw invalid("bytes \(end)..<\(dataLength) at the end of the data section belong to no tensor")
        }

        self.path = path
        self.storage = data
        self.mapping = mapping
        self.tensors = tensors
        self.names = tensors.keys.sorted()
        self.metadata = metadata
        self.dataSectionOffset = 8 + headerLength
    }

    /// The stored description of tensor `name`, or `nil` if the file has no such tensor.
    public func info(_ name: String) -> TensorInfo? { tensors[name] }

    /// Tensor `name`'s values converted to Float, in row-major order.
    ///
    /// F32 is copied, F16 (IEEE half, including subnormals, infinities and NaN) and BF16 are
    /// widened exactly.
    ///
    /// - Throws: ``EngineError/missingTensors(names:path:)`` if there is no such tensor,
    ///   ``EngineError/unsupportedDType(tensor:dtype:path:)`` for any other dtype.
    public func floats(_ name: String) throws(EngineError) -> [Float] {
        guard let info = tensors[name] else { throw .missingTensors(names: [name], path: path) }
        defer { mapping?.finishedReading(byteCount: info.byteRange.count) }
        switch info.dtype {
        case "F32":
            #if _endian(little)
            // The stored bytes already are the host's floats: one bulk copy, fast even in debug builds.
            let start = dataSectionOffset + info.byteRange.lowerBound
            return storage.withUnsafeBytes { raw in
                [Float](unsafeUninitializedCapacity: info.byteRange.count / 4) { buffer, initialized in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: .init(rebasing: raw[start..<(start + info.byteRange.count)]))
                    initialized = info.byteRange.count / 4
                }
            }
            #else
            return convert(info, elementSize: 4) { raw, offset in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            }
            #endif
        case "F16":
            return convert(info, elementSize: 2) { raw, offset in
                halfBitsToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            }
        case "BF16":
            return convert(info, elementSize: 2) { raw, offset in
                bfloat16BitsToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            }
        default:
            throw .unsupportedDType(tensor: name, dtype: info.dtype, path: path)
        }
    }

    /// Decodes every element of a tensor whose size was validated at opening.
    private func convert(_ info: TensorInfo, elementSize: Int,
                         _ element: (UnsafeRawBufferPointer, Int) -> Float) -> [Float] {
        let count = info.byteRange.count / elementSize
        let start = dataSectionOffset + info.byteRange.lowerBound
        return storage.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count { buffer[index] = element(raw, start + index * elementSize) }
                initialized = count
            }
        }
    }

    /// Bytes per element of the dtypes the safetensors format defines; `nil` for unknown ones,
    /// whose size cannot be checked (they are accepted on opening and rejected by `floats`).
    static func elementSize(of dtype: String) -> Int? {
        switch dtype {
        case "BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2": return 1
        case "U16", "I16", "F16", "BF16": return 2
        case "U32", "I32", "F32": return 4
        case "U64", "I64", "F64": return 8
        default: return nil
        }
    }

    private static func parseMetadata(_ value: JSONValue,
                                      invalid: (String) -> EngineError) throws(EngineError) -> [String: String] {
        if case .null = value { return [:] }
        guard case let .object(object) = value else {
            throw invalid("\"__metadata__\" is \(value.kind), expected an object of strings")
        }
        var result: [String: String] = [:]
        for (key, item) in object {
            guard case let .string(text) = item else {
                throw invalid("\"__metadata__\" entry '\(key)' is \(item.kind), expected a string")
            }
            result[key] = text
        }
        return result
    }

    private static func parseEntry(name: String, value: JSONValue,
                                   invalid: (String) -> EngineError) throws(EngineError) -> TensorInfo {
        guard case let .object(entry) = value else {
            throw invalid("entry for tensor '\(name)' is \(value.kind), expected an object")
        }
        guard case let .string(dtype)? = entry["dtype"] else {
            throw invalid("tensor '\(name)' lacks a string \"dtype\" (found \(entry["dtype"]?.kind ?? "nothing"))")
        }
        guard case let .array(shapeItems)? = entry["shape"] else {
            throw invalid("tensor '\(name)' lacks a \"shape\" array (found \(entry["shape"]?.kind ?? "nothing"))")
        }
        var shape: [Int] = []
        for item in shapeItems {
            guard case let .int(dimension) = item, dimension >= 0 else {
                throw invalid("tensor '\(name)' has shape dimension \(item.text); dimensions must be non-negative integers")
            }
            shape.append(dimension)
        }
        guard case let .array(offsetItems)? = entry["data_offsets"], offsetItems.count == 2,
              case let .int(begin) = offsetItems[0], case let .int(end) = offsetItems[1],
              begin >= 0, begin <= end else {
            throw invalid("tensor '\(name)' has data_offsets \(entry["data_offsets"]?.text ?? "missing"); expected two ascending non-negative integers [begin, end]")
        }
        if let size = elementSize(of: dtype) {
            // Multiply with overflow checks: a hostile shape must not wrap around to a small size.
            var bytes = size
            for dimension in shape {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw invalid("tensor '\(name)' has shape \(shape) whose byte size overflows") }
                bytes = product
            }
            guard end - begin == bytes else {
                throw invalid("tensor '\(name)' has \(end - begin) bytes but shape \(shape) of \(dtype) needs \(bytes)")
            }
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }
}

/// Writes tensors in the safetensors format.
public enum SafeTensorsWriter {
    /// Encodes tensors as safetensors bytes.
    ///
    /// Tensors are laid out in name order so that the output does not depend on input order; the
    /// header is padded with spaces to a multiple of 8 bytes, as the reference implementation does,
    /// which keeps the data section 8-byte aligned.
    ///
    /// - Parameters:
    ///   - tensors: Names (unique, not `"__metadata__"`), row-major shapes and values.
    ///   - dtype: `"F32"`, `"F16"` or `"BF16"`; narrower types round to nearest, ties to even.
    ///   - metadata: Stored in the header's `"__metadata__"` object (omitted when empty).
    /// - Throws: ``EngineError/writeFailed(path:reason:)`` (path `"(in memory)"`) for an
    ///   unsupported dtype, a duplicate or reserved name, or a shape that does not match its values.
    public static func encode(_ tensors: [(name: String, shape: [Int], values: [Float])],
                              dtype: String = "F32",
                              metadata: [String: String] = [:]) throws(EngineError) -> Data {
        try encode(tensors, dtype: dtype, metadata: metadata, path: "(in memory)")
    }

    /// Writes tensors to a safetensors file at `path`, replacing any existing file atomically: the
    /// bytes go to a temporary file in the same directory that is then renamed into place, so a
    /// failure never leaves a half-written file behind.
    ///
    /// - Parameters: See ``encode(_:dtype:metadata:)``.
    /// - Throws: ``EngineError/writeFailed(path:reason:)``.
    public static func write(_ tensors: [(name: String, shape: [Int], values: [Float])],
                             dtype: String = "F32",
                             metadata: [String: String] = [:],
                             to path: String) throws(EngineError) {
        let data = try encode(tensors, dtype: dtype, metadata: metadata, path: path)
        try writeFileAtomically(data, to: path)
    }

    private static func encode(_ tensors: [(name: String, shape: [Int], values: [Float])],
                               dtype: String, metadata: [String: String],
                               path: String) throws(EngineError) -> Data {
        func failed(_ reason: String) -> EngineError { .writeFailed(path: path, reason: reason) }

        // Pick the element encoder once, not per element.
        let size: Int, store: (UnsafeMutableRawBufferPointer, Int, Float) -> Void
        switch dtype {
        case "F32": (size, store) = (4, { $0.storeBytes(of: $2.bitPattern.littleEndian, toByteOffset: $1, as: UInt32.self) })
        case "F16": (size, store) = (2, { $0.storeBytes(of: floatToHalfBits($2).littleEndian, toByteOffset: $1, as: UInt16.self) })
        case "BF16": (size, store) = (2, { $0.storeBytes(of: floatToBFloat16Bits($2).littleEndian, toByteOffset: $1, as: UInt16.self) })
        default: throw failed("dtype '\(dtype)' cannot be written; use F32, F16 or BF16")
        }

        let ordered = tensors.sorted { $0.name < $1.name }
        var entries: [String] = []
        var dataLength = 0
        var previousName: String?
        for tensor in ordered {
            guard tensor.name != previousName else { throw failed("duplicate tensor name '\(tensor.name)'") }
            guard tensor.name != "__metadata__" else { throw failed("'__metadata__' is reserved and cannot name a tensor") }
            previousName = tensor.name
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else {
                throw failed("tensor '\(tensor.name)' has negative dimension in shape \(tensor.shape)")
            }
            var count = 1
            for dimension in tensor.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw failed("tensor '\(tensor.name)' has shape \(tensor.shape) whose size overflows") }
                count = product
            }
            guard count == tensor.values.count else {
                throw failed("tensor '\(tensor.name)' has \(tensor.values.count) values but shape \(tensor.shape) needs \(count)")
            }
            let bytes = count * size
            let shapeText = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(tensor.name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(dataLength),\(dataLength + bytes)]}")
            dataLength += bytes
        }
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            entries.insert("\"__metadata__\":{" + pairs.joined(separator: ",") + "}", at: 0)
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

        var output = Data(count: 8 + header.count + dataLength)
        output.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(header.count).littleEndian, as: UInt64.self)
            raw.baseAddress!.advanced(by: 8).copyMemory(from: header, byteCount: header.count)
            var offset = 8 + header.count
            for tensor in ordered {
                for value in tensor.values {
                    store(raw, offset, value)
                    offset += size
                }
            }
        }
        return output
    }

    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
    private static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

extension SafeTensorsFile: TensorSource {
    /// The tensor's shape, or `nil` if the file has no such tensor.
    public func shape(_ name: String) -> [Int]? { tensors[name]?.shape }
    /// The tensor's dtype string as stored (e.g. `"F16"`), or `nil`.
    public func dtype(_ name: String) -> String? { tensors[name]?.dtype }
}
