import Foundation

/// One member of a zip archive, as its central directory describes it.
struct ZipEntry: Sendable, Equatable {
    /// The member's path inside the archive, e.g. `efficientvit_m0/data/0`.
    let name: String
    /// The member's bytes: a range of the archive's data, already checked to lie inside it.
    let dataRange: Range<Int>
    /// The CRC-32 the archive records for the member.
    let crc32: UInt32
}

/// A read-only view of a zip archive whose members are stored uncompressed, the container
/// `torch.save` writes (via PyTorch's `PyTorchStreamWriter`). Zip64 records are understood, so
/// archives and members past 4 GiB work.
///
/// Every offset and size read from the archive is checked against the archive's length before it
/// is used, so a truncated or corrupt file yields ``EngineError/invalidCheckpoint(path:reason:)``
/// rather than an out-of-bounds read or a huge allocation.
struct ZipArchive: Sendable {
    let path: String
    let data: Data
    /// Members in central-directory order.
    let entries: [ZipEntry]
    /// Member name → its position in `entries`.
    private let index: [String: Int]

    private static let endOfCentralDirectorySignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let centralHeaderSignature: UInt32 = 0x0201_4B50
    private static let localHeaderSignature: UInt32 = 0x0403_4B50

    /// Whether `data` starts like a zip archive (a local file header), which is how weight files
    /// are told apart from safetensors without trusting their extension.
    static func looksLikeZip(_ data: Data) -> Bool {
        data.count >= 4 && data.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } == localHeaderSignature.littleEndian
    }

    /// The mapped file `data` views, if any (see ``releaseResidentPages()``).
    private let mapping: MappedFile?

    init(data bytes: Data, path: String, mapping: MappedFile? = nil) throws(EngineError) {
        // Offsets below are from the start of the file: rebase a slice so its indices start at 0
        // (a rebased copy no longer reads the mapped file: releasing its pages would gain nothing).
        let data = bytes.startIndex == 0 ? bytes : Data(bytes)
        self.path = path
        self.data = data
        self.mapping = bytes.startIndex == 0 ? mapping : nil
        let reader = ByteReader(data: data, path: path, what: "zip archive")
        let directory = try Self.locateCentralDirectory(reader)
        var entries: [ZipEntry] = []
        var offset = directory.offset
        var byName: [String: Int] = [:]
        for index in 0..<directory.count {
            let entry = try Self.readCentralEntry(reader, at: &offset, index: index)
            guard byName.updateValue(entries.count, forKey: entry.name) == nil else {
                throw reader.invalid("two members are named '\(entry.name)'")
            }
            entries.append(entry)
        }
        guard offset <= directory.offset + directory.size else {
            throw reader.invalid("central directory entries run past its declared size of \(directory.size) bytes")
        }
        self.entries = entries
        self.index = byName
    }

    /// The member named `name`, if any: one hash lookup (a pickle may name members millions of
    /// times; a scan of 20,000 members each time would not finish).
    func entry(named name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// A member's bytes, as stored (not checked; see ``contents(of:)``).
    func bytes(of entry: ZipEntry) -> Data {
        data[entry.dataRange]
    }

    /// Gives the archive's resident pages back to the kernel once a member has been read (a no-op
    /// unless the archive is a mapped file); reading again later faults them in from the file.
    func releaseResidentPages() {
        mapping?.releaseResidentPages()
    }

    /// Records that a member has been read (see ``MappedFile/finishedReading(byteCount:)``).
    func finishedReading(_ entry: ZipEntry) {
        mapping?.finishedReading(byteCount: entry.dataRange.count)
    }

    /// A member's bytes, after checking them against the CRC-32 the archive records, so that a
    /// corrupted download is reported instead of loading wrong weights.
    func contents(of entry: ZipEntry) throws(EngineError) -> Data {
        let bytes = bytes(of: entry)
        let found = CRC32.checksum(bytes)
        guard found == entry.crc32 else {
            throw .invalidCheckpoint(path: path, reason: "member '\(entry.name)' fails its CRC-32 check "
                                     + "(recorded \(hex(entry.crc32)), computed \(hex(found))): the file is corrupt")
        }
        return bytes
    }

    private struct CentralDirectory {
        var offset: Int
        var size: Int
        var count: Int
    }

    /// Finds the end-of-central-directory record (searching back over a possible comment) and,
    /// when its fields are saturated, the zip64 record it points to.
    private static func locateCentralDirectory(_ reader: ByteReader) throws(EngineError) -> CentralDirectory {
        let count = reader.data.count
        guard count >= 22 else { throw reader.invalid("file is \(count) bytes, too short for a zip archive (truncated?)") }
        var position: Int?
        // The record is 22 bytes plus a comment of at most 65535 bytes.
        var candidate = count - 22
        let lowest = max(0, count - 22 - 65_535)
        while candidate >= lowest {
            if try reader.u32(candidate) == endOfCentralDirectorySignature,
               try candidate + 22 + Int(reader.u16(candidate + 20)) == count {
                position = candidate
                break
            }
            candidate -= 1
        }
        guard let end = position else {
            throw reader.invalid("no end-of-central-directory record (the file is truncated or not a zip archive)")
        }
        var entryCount = Int(try reader.u16(end + 10))
        var size = Int(try reader.u32(end + 12))
        var offset = Int(try reader.u32(end + 16))
        if entryCount == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            let locator = end - 20
            guard locator >= 0, try reader.u32(locator) == zip64LocatorSignature else {
                throw reader.invalid("end-of-central-directory fields are saturated but there is no zip64 locator")
            }
            let record = try reader.int64(locator + 8, field: "zip64 end-of-central-directory offset")
            guard try reader.u32(record) == zip64EndSignature else {
                throw reader.invalid("zip64 locator points at byte \(record), which holds no zip64 end-of-central-directory record")
            }
            entryCount = try reader.int64(record + 32, field: "zip64 entry count")
            size = try reader.int64(record + 40, field: "zip64 central directory size")
            offset = try reader.int64(record + 48, field: "zip64 central directory offset")
        }
        guard offset <= end, size <= end - offset else {
            throw reader.invalid("bad central directory: \(size) bytes at offset \(offset) do not fit before byte \(end)")
        }
        // Each central entry takes at least 46 bytes: a larger count is a lie, not a reason to loop.
        guard entryCount <= size / 46 else {
            throw reader.invalid("bad central directory: \(entryCount) entries cannot fit in \(size) bytes")
        }
        return CentralDirectory(offset: offset, size: size, count: entryCount)
    }

    private static func readCentralEntry(_ reader: ByteReader, at offset: inout Int,
                                         index: Int) throws(EngineError) -> ZipEntry {
        guard try reader.u32(offset) == centralHeaderSignature else {
            throw reader.invalid("bad central directory: entry \(index) at byte \(offset) lacks its signature")
        }
        let flags = try reader.u16(offset + 8)
        let method = try reader.u16(offset + 10)
        let crc = try reader.u32(offset + 16)
        var compressedSize = Int(try reader.u32(offset + 20))
        var size = Int(try reader.u32(offset + 24))
        let nameLength = Int(try reader.u16(offset + 28))
        let extraLength = Int(try reader.u16(offset + 30))
        let commentLength = Int(try reader.u16(offset + 32))
        var localOffset = Int(try reader.u32(offset + 42))
        let nameBytes = try reader.bytes(offset + 46, count: nameLength)
        guard let name = String(bytes: nameBytes, encoding: .utf8) else {
            throw reader.invalid("bad central directory: entry \(index) has a name that is not UTF-8")
        }

        // Zip64 extended information: 8-byte values for exactly the saturated 4-byte fields, in order.
        var extra = offset + 46 + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let tag = try reader.u16(extra), length = Int(try reader.u16(extra + 2))
            var field = extra + 4
            guard field + length <= extraEnd else { throw reader.invalid("entry '\(name)' has a truncated extra field") }
            if tag == 0x0001 {
                if size == 0xFFFF_FFFF { size = try reader.int64(field, field: "zip64 size of '\(name)'"); field += 8 }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try reader.int64(field, field: "zip64 size of '\(name)'"); field += 8 }
                if localOffset == 0xFFFF_FFFF { localOffset = try reader.int64(field, field: "zip64 offset of '\(name)'") }
                guard field <= extra + 4 + length else { throw reader.invalid("entry '\(name)' has a short zip64 extra field") }
            }
            extra += 4 + length
        }
        offset = extraEnd + commentLength

        guard flags & 0x1 == 0 else { throw reader.invalid("member '\(name)' is encrypted") }
        guard method == 0 else {
            throw reader.invalid("member '\(name)' is compressed (method \(method)); torch.save stores members uncompressed")
        }
        guard compressedSize == size else {
            throw reader.invalid("stored member '\(name)' declares \(compressedSize) stored bytes but \(size) bytes of content")
        }
        // The local header repeats the name and has its own extra field (torch pads with it to
        // align the data); its sizes may be zero when a data descriptor follows, so use ours.
        guard try reader.u32(localOffset) == localHeaderSignature else {
            throw reader.invalid("member '\(name)': no local header at byte \(localOffset) (bad central directory)")
        }
        let dataStart = localOffset + 30 + Int(try reader.u16(localOffset + 26)) + Int(try reader.u16(localOffset + 28))
        guard dataStart <= reader.data.count, size <= reader.data.count - dataStart else {
            throw reader.invalid("member '\(name)' needs \(size) bytes at offset \(dataStart) but the file has \(reader.data.count) (truncated?)")
        }
        return ZipEntry(name: name, dataRange: dataStart..<(dataStart + size), crc32: crc)
    }
}

/// Little-endian reads at absolute offsets, each checked against the data's length.
struct ByteReader {
    let data: Data
    let path: String
    let what: String

    func invalid(_ reason: String) -> EngineError { .invalidCheckpoint(path: path, reason: reason) }

    private func check(_ offset: Int, _ count: Int) throws(EngineError) {
        guard offset >= 0, count >= 0, offset <= data.count, count <= data.count - offset else {
            throw invalid("\(what) is truncated: needs \(count) bytes at offset \(offset) but has \(data.count)")
        }
    }

    func u16(_ offset: Int) throws(EngineError) -> UInt16 {
        try check(offset, 2)
        return data.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    }

    func u32(_ offset: Int) throws(EngineError) -> UInt32 {
        try check(offset, 4)
        return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    /// An unsigned 64-bit field that must also fit the file, so it converts to `Int` safely.
    func int64(_ offset: Int, field: String) throws(EngineError) -> Int {
        try check(offset, 8)
        let value = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        guard value <= UInt64(data.count) else { throw invalid("\(field) is \(value), beyond the file's \(data.count) bytes") }
        return Int(value)
    }

    func bytes(_ offset: Int, count: Int) throws(EngineError) -> Data {
        try check(offset, count)
        return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + count))
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
