import Foundation

/// Zip archives of stored (uncompressed) members, as torch.save writes them: enough to read a
/// fixture's members and to write an archive around a fuzz input with correct CRC-32s.
public enum StoredZip {
    /// The members of a zip whose members are all stored, in central-directory order.
    public static func read(_ data: Data) throws -> [(name: String, data: Data)] {
        let bytes = [UInt8](data)
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        guard let end = stride(from: bytes.count - 22, through: 0, by: -1).first(where: { u32($0) == 0x0605_4B50 }) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        var members: [(String, Data)] = []
        var entry = u32(end + 16)
        for _ in 0..<u16(end + 10) {
            let size = u32(entry + 20), nameLength = u16(entry + 28), local = u32(entry + 42)
            let name = String(decoding: bytes[(entry + 46)..<(entry + 46 + nameLength)], as: UTF8.self)
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            members.append((name, Data(bytes[start..<(start + size)])))
            entry += 46 + nameLength + u16(entry + 30) + u16(entry + 32)
        }
        return members
    }

    /// A zip of `members`, stored, with their CRC-32s.
    public static func write(_ members: [(name: String, data: Data)]) -> Data {
        var out = [UInt8](), directory = [UInt8]()
        func u16(_ v: Int, _ to: inout [UInt8]) { to += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int, _ to: inout [UInt8]) { u16(v & 0xFFFF, &to); u16(v >> 16 & 0xFFFF, &to) }
        for (name, data) in members {
            let crc = crc32(data), offset = out.count, nameBytes = Array(name.utf8)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(data.count, &out); u32(data.count, &out); u16(nameBytes.count, &out); u16(0, &out)
            out += nameBytes + data
            u32(0x0201_4B50, &directory); u16(20, &directory); u16(20, &directory); u16(0, &directory); u16(0, &directory)
            u16(0, &directory); u16(0, &directory); u32(crc, &directory); u32(data.count, &directory); u32(data.count, &directory)
            u16(nameBytes.count, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory)
            u32(0, &directory); u32(offset, &directory)
            directory += nameBytes
        }
        let directoryOffset = out.count
        out += directory
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(members.count, &out); u16(members.count, &out)
        u32(directory.count, &out); u32(directoryOffset, &out); u16(0, &out)
        return Data(out)
    }

    private static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    static func crc32(_ data: Data) -> Int {
        Int(~data.reduce(UInt32.max) { table[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) })
    }
}
