import Foundation

/// Zip archives of stored (uncompressed) members, as torch.save writes them, around a fuzz input.
/// The CRC-32 is the engine's own (`crc32`, passed in, so this target needs no testable import).
public enum StoredZip {
    /// A zip of `members`, stored, with their CRC-32s.
    public static func archive(_ members: [(name: String, data: Data)], crc32: (Data) -> UInt32) -> Data {
        var out = [UInt8](), directory = [UInt8]()
        func u16(_ v: Int, _ to: inout [UInt8]) { to += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int, _ to: inout [UInt8]) { u16(v & 0xFFFF, &to); u16(v >> 16 & 0xFFFF, &to) }
        for (name, data) in members {
            let crc = Int(crc32(data)), offset = out.count, nameBytes = Array(name.utf8)
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
}
