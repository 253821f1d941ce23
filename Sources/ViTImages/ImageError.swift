import Foundation

/// Every failure of the image front-end. Each case names the file at fault and what was expected,
/// so a user can act on the message (and a batch job can report it for that file and go on).
public enum ImageError: Error, Equatable, Sendable {
    /// The file could not be opened or read (missing, a directory, no permission, I/O error).
    case unreadable(path: String, reason: String)
    /// The file has no bytes.
    case empty(path: String)
    /// The bytes are not a JPEG or PNG image; `found` says what they look like instead.
    case notAnImage(path: String, found: String)
    /// The image header declares more pixels than the decoder accepts (a decompression-bomb guard).
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    /// The file is larger than the decoder reads.
    case fileTooLarge(path: String, bytes: Int, limit: Int)
    /// The data ends before the image is complete.
    case truncated(path: String, format: ImageFormat)
    /// The decoder rejected the data.
    case corrupt(path: String, format: ImageFormat, reason: String)
    /// A valid image that uses a feature this decoder does not support (e.g. 12-bit JPEG).
    case unsupported(path: String, format: ImageFormat, reason: String)
    /// The model's preprocessing settings cannot be reproduced (e.g. an unknown interpolation).
    case unsupportedPreprocessing(model: String, reason: String)
}

extension ImageError: CustomStringConvertible, LocalizedError {
    /// The message a user sees: the file, what is wrong with it, and what was expected.
    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read '\(path)': \(reason)"
        case let .empty(path):
            return "'\(path)' is empty (0 bytes); expected a JPEG or PNG image"
        case let .notAnImage(path, found):
            return "'\(path)' is not a JPEG or PNG image (\(found))"
        case let .tooLarge(path, width, height, limit):
            return "'\(path)' is \(width)×\(height) = \(width * height) pixels, above the limit of \(limit) "
                + "(a guard against decompression bombs; if the file is trusted, raise the limit: "
                + "ImageDecoder.maximumPixels, or --max-pixels for vit)"
        case let .fileTooLarge(path, bytes, limit):
            return "'\(path)' is \(bytes) bytes, above the \(limit)-byte limit for an image file"
        case let .truncated(path, format):
            return "'\(path)' is a truncated \(format.rawValue) file: the data ends before the image is complete"
        case let .corrupt(path, format, reason):
            return "'\(path)' is a corrupt \(format.rawValue) file: \(reason)"
        case let .unsupported(path, format, reason):
            return "'\(path)' is a \(format.rawValue) file this decoder does not support: \(reason)"
        case let .unsupportedPreprocessing(model, reason):
            return "cannot preprocess images for \(model): \(reason)"
        }
    }

    /// Same as ``description``, for `localizedDescription`.
    public var errorDescription: String? { description }

    /// The file the error is about, if it is about one.
    public var path: String? {
        switch self {
        case let .unreadable(path, _), let .empty(path), let .notAnImage(path, _), let .tooLarge(path, _, _, _),
             let .fileTooLarge(path, _, _), let .truncated(path, _), let .corrupt(path, _, _),
             let .unsupported(path, _, _):
            return path
        case .unsupportedPreprocessing:
            return nil
        }
    }
}
