/// The image formats the decoder reads, recognised by their leading bytes (never by extension).
public enum ImageFormat: String, Sendable, Equatable, CaseIterable {
    /// JPEG (JFIF, Exif, Adobe), decoded by libjpeg-turbo.
    case jpeg = "JPEG"
    /// PNG, decoded by libpng.
    case png = "PNG"

    /// The format whose signature `bytes` start with, or nil.
    ///
    /// JPEG: a start-of-image marker followed by another marker (`FF D8 FF`). PNG: the 8-byte
    /// signature `89 50 4E 47 0D 0A 1A 0A`.
    public static func detect<Bytes: Collection>(_ bytes: Bytes) -> ImageFormat? where Bytes.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    /// Bytes to read from a file to recognise its format (and describe what else it is).
    static let signatureLength = 16

    /// A short description of what non-JPEG/PNG bytes look like, for error messages.
    static func describeOther<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let head = Array(bytes.prefix(signatureLength))
        let known: [([UInt8], String)] = [
            (Array("GIF8".utf8), "a GIF image"),
            (Array("BM".utf8), "a BMP image"),
            ([0x49, 0x49, 0x2A, 0x00], "a TIFF image"),
            ([0x4D, 0x4D, 0x00, 0x2A], "a TIFF image"),
            (Array("%PDF".utf8), "a PDF document"),
            ([0x50, 0x4B, 0x03, 0x04], "a ZIP archive"),
            ([0x1F, 0x8B], "gzip-compressed data"),
            ([0x93] + Array("NUMPY".utf8), "a NumPy .npy file"),
            ([0x89, 0x50, 0x4E, 0x47], "a damaged PNG signature"),
            ([0xFF, 0xD8], "a damaged JPEG start"),
        ]
        for (signature, name) in known where head.starts(with: signature) { return name }
        if head.count >= 12, head[0..<4].elementsEqual(Array("RIFF".utf8)), head[8..<12].elementsEqual(Array("WEBP".utf8)) {
            return "a WebP image"
        }
        if head.count >= 12, head[4..<8].elementsEqual(Array("ftyp".utf8)) { return "an ISO media file (HEIC/AVIF/MP4)" }
        if !head.isEmpty, head.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) }) {
            return "text"
        }
        let hex = head.prefix(8).map { String($0, radix: 16, uppercase: true) }.map { $0.count == 1 ? "0" + $0 : $0 }
        return "starts with bytes " + hex.joined(separator: " ")
    }
}
