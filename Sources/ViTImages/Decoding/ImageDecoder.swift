import CImageDecoders
import Foundation

/// Decodes JPEG and PNG files to 8-bit RGB exactly as PIL's `Image.open(path).convert("RGB")`.
///
/// The format is recognised from the file's first bytes, never from its name. JPEG is decoded
/// by libjpeg-turbo (baseline, progressive, grayscale, CMYK and YCCK with Adobe's inverted
/// polarity, as PIL assumes), PNG by libpng (1 to 16 bits; gray, gray+alpha, palette with or
/// without tRNS, RGB, RGBA; interlaced or not). Alpha is dropped, not blended, and 16-bit
/// samples are reduced to 8 bits the way PIL does (see ``ImageDecoder/decode(data:path:)``).
///
/// Before any pixel memory is allocated, the dimensions in the header are checked against
/// ``maximumPixels``, so a small file that declares a huge image is refused.
///
/// ```swift
/// let image = try ImageDecoder().decode(path: "cat.jpg")   // RGBImage, width × height × 3 bytes
/// ```
public struct ImageDecoder: Sendable {
    /// PIL's `Image.MAX_IMAGE_PIXELS` (above it PIL warns of a possible decompression bomb).
    public static let defaultMaximumPixels = 89_478_485
    /// Files above this size are not read (the largest PNG within the pixel limit is smaller).
    public static let defaultMaximumFileBytes = 1 << 30

    /// Images with more pixels than this are refused with ``ImageError/tooLarge(path:width:height:limit:)``.
    public var maximumPixels: Int
    /// Files with more bytes than this are refused with ``ImageError/fileTooLarge(path:bytes:limit:)``.
    public var maximumFileBytes: Int
    /// Progressive JPEGs with more scans are refused (ordinary files have about 10), which bounds
    /// the decoding time of crafted files.
    public var maximumProgressiveScans: Int = 1000

    /// Creates a decoder with the given limits.
    public init(maximumPixels: Int = defaultMaximumPixels, maximumFileBytes: Int = defaultMaximumFileBytes) {
        self.maximumPixels = maximumPixels
        self.maximumFileBytes = maximumFileBytes
    }

    /// Reads and decodes the image file at `path`.
    ///
    /// - Throws: ``ImageError`` naming `path`: unreadable, empty, not an image, too large,
    ///   truncated, corrupt or unsupported.
    public func decode(path: String) throws(ImageError) -> RGBImage {
        try decode(data: readImageFile(path), path: path)
    }

    /// Decodes JPEG or PNG bytes already in memory; `path` is only used in error messages.
    ///
    /// How PIL's conversions are reproduced:
    /// - gray and gray+alpha: the gray value in all three channels;
    /// - RGBA, gray+alpha, palette with tRNS: the alpha channel is dropped;
    /// - 16-bit RGB, RGBA and gray+alpha PNGs: the high byte of each sample;
    /// - 16-bit gray PNGs (PIL's mode `I;16`): values above 255 become 255 (PIL clips, it does not
    ///   rescale, so such images turn mostly white, in PIL and here alike);
    /// - CMYK/YCCK JPEGs: samples inverted (Adobe polarity), then `R = 255−K − (C·(255−K))/255`
    ///   rounded as PIL's `MULDIV255`, likewise G from M and B from Y.
    public func decode(data: Data, path: String) throws(ImageError) -> RGBImage {
        guard !data.isEmpty else { throw .empty(path: path) }
        guard let format = ImageFormat.detect(data.prefix(ImageFormat.signatureLength)) else {
            throw .notAnImage(path: path, found: ImageFormat.describeOther(data.prefix(ImageFormat.signatureLength)))
        }
        let result: Result<RGBImage, ImageError> = data.withUnsafeBytes { raw in
            let bytes = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            do throws(ImageError) {
                switch format {
                case .jpeg: return .success(try decodeJPEG(bytes, path: path))
                case .png: return .success(try decodePNG(bytes, path: path))
                }
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads the header only: the image's size and format, without decoding pixels (and without
    /// applying ``maximumPixels``).
    public func dimensions(data: Data, path: String) throws(ImageError) -> (width: Int, height: Int, format: ImageFormat) {
        guard !data.isEmpty else { throw .empty(path: path) }
        guard let format = ImageFormat.detect(data.prefix(ImageFormat.signatureLength)) else {
            throw .notAnImage(path: path, found: ImageFormat.describeOther(data.prefix(ImageFormat.signatureLength)))
        }
        let result: Result<vit_image_info, ImageError> = data.withUnsafeBytes { raw in
            let bytes = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            do throws(ImageError) {
                return .success(try inspectHeader(bytes, format: format, path: path))
            } catch {
                return .failure(error)
            }
        }
        let info = try result.get()
        return (Int(info.width), Int(info.height), format)
    }

    /// Reads the header through the C decoder and applies the pixel limit.
    func inspect(_ bytes: UnsafeBufferPointer<UInt8>, format: ImageFormat, path: String) throws(ImageError) -> vit_image_info {
        let info = try inspectHeader(bytes, format: format, path: path)
        let width = Int(info.width), height = Int(info.height)
        guard width.multipliedReportingOverflow(by: height).partialValue <= maximumPixels,
              width <= maximumPixels, height <= maximumPixels else {
            throw .tooLarge(path: path, width: width, height: height, limit: maximumPixels)
        }
        return info
    }

    /// Reads the header through the C decoder (no pixel limit).
    func inspectHeader(_ bytes: UnsafeBufferPointer<UInt8>, format: ImageFormat, path: String) throws(ImageError) -> vit_image_info {
        var info = vit_image_info()
        var message = [CChar](repeating: 0, count: 256)
        let status: vit_decode_status
        switch format {
        case .jpeg: status = vit_jpeg_inspect(bytes.baseAddress, bytes.count, &info, &message, message.count)
        case .png: status = vit_png_inspect(bytes.baseAddress, bytes.count, &info, &message, message.count)
        }
        try check(status, message: message, format: format, path: path)
        let width = Int(info.width), height = Int(info.height)
        guard width > 0, height > 0 else {
            throw .corrupt(path: path, format: format, reason: "the header declares a \(width)×\(height) image")
        }
        return info
    }

    /// Turns a C status into the matching ``ImageError``.
    func check(_ status: vit_decode_status, message: [CChar], format: ImageFormat, path: String) throws(ImageError) {
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch status {
        case VIT_DECODE_OK: return
        case VIT_DECODE_TRUNCATED: throw .truncated(path: path, format: format)
        case VIT_DECODE_UNSUPPORTED: throw .unsupported(path: path, format: format, reason: text)
        default: throw .corrupt(path: path, format: format, reason: text.isEmpty ? "decoder error \(status.rawValue)" : text)
        }
    }

    /// Reads a whole image file after checking that it is a regular, non-empty file within the
    /// size limit whose first bytes are an image signature (so a large non-image file is not read).
    func readImageFile(_ path: String) throws(ImageError) -> Data {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw .unreadable(path: path, reason: reason)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .unreadable(path: path, reason: "it is a directory")
        default: throw .unreadable(path: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else { throw .empty(path: path) }
        guard size <= maximumFileBytes else { throw .fileTooLarge(path: path, bytes: size, limit: maximumFileBytes) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = access(path, R_OK) != 0 ? "permission denied" : "cannot open the file"
            throw .unreadable(path: path, reason: reason)
        }
        defer { try? handle.close() }
        do {
            let head = try handle.read(upToCount: ImageFormat.signatureLength) ?? Data()
            guard ImageFormat.detect(head) != nil else {
                if head.isEmpty { throw ImageError.empty(path: path) }
                throw ImageError.notAnImage(path: path, found: ImageFormat.describeOther(head))
            }
            let rest = try handle.read(upToCount: maximumFileBytes) ?? Data()
            return head + rest
        } catch let error as ImageError {
            throw error
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
    }
}
