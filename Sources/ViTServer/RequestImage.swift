import Foundation
import Hummingbird
import NIOCore

/// The image a classify or embed request carries: the raw body (any content type but
/// multipart), or the file of a `multipart/form-data` body — the part named `image` or `file`,
/// else the first part with a file name, else the first part.
struct RequestImage {
    var data: Data
    /// How error messages name the image ("request body", or the uploaded file's name).
    var name: String

    /// Reads and checks the body of `request` (at most `limit` bytes).
    static func read(_ request: Request, limit: Int) async throws(APIError) -> RequestImage {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw .bodyTooLarge(declared, limit: limit)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw .bodyTooLarge(nil, limit: limit)
        } catch {
            throw .badRequest("unreadable_body", "the request body could not be read: \(error)")
        }
        return try parse(body, contentType: request.headers[.contentType] ?? "")
    }

    /// The image in a whole request body with the given `Content-Type`.
    static func parse(_ body: ByteBuffer, contentType: String) throws(APIError) -> RequestImage {
        let image: RequestImage
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            image = try multipartFile(body, contentType: contentType)
        } else {
            image = RequestImage(data: Data(body.readableBytesView), name: "request body")
        }
        guard !image.data.isEmpty else {
            throw .badRequest("empty_body", "\(image.name) is empty; send a JPEG or PNG image as the request body "
                              + "or as the file of a multipart/form-data upload")
        }
        return image
    }

    /// The value of parameter `key` in a header such as `multipart/form-data; boundary=x` or
    /// `form-data; name="image"; filename="cat.jpg"` (quoted or not), if present and not empty.
    static func parameter(_ key: String, in header: String) -> String? {
        for parameter in header.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == key else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    private static func multipartFile(_ body: ByteBuffer, contentType: String) throws(APIError) -> RequestImage {
        guard let boundary = parameter("boundary", in: contentType) else {
            throw .badRequest("invalid_multipart", "the Content-Type multipart/form-data has no boundary parameter")
        }
        let form: Result<MultipartFormData, MultipartFormData.Failure> = body.withUnsafeReadableBytes { bytes in
            Result { () throws(MultipartFormData.Failure) in try MultipartFormData(bytes, boundary: boundary) }
        }
        let parts: [MultipartFormData.Part]
        switch form {
        case let .success(form):
            parts = form.parts
        case .failure(.cutShort):
            throw .badRequest("invalid_multipart", "the multipart/form-data body ends before its closing '--\(boundary)--' "
                              + "line (cut short?); no complete part was taken")
        case let .failure(.malformed(reason)):
            throw .badRequest("invalid_multipart", "the multipart/form-data body is malformed (\(reason)); expected "
                              + "parts that each start with a '--\(boundary)' line, and a closing '--\(boundary)--'")
        }
        let chosen = parts.first { ["image", "file"].contains(fieldName(of: $0) ?? "") }
            ?? parts.first { filename(of: $0) != nil }
            ?? parts[0]
        let name = filename(of: chosen) ?? "multipart field \"\(fieldName(of: chosen) ?? "")\""
        return RequestImage(data: chosen.body, name: name)
    }

    /// The `name` parameter of a part's Content-Disposition.
    private static func fieldName(of part: MultipartFormData.Part) -> String? {
        part.header("content-disposition").flatMap { parameter("name", in: $0) }
    }

    /// The `filename` parameter of a part's Content-Disposition.
    private static func filename(of part: MultipartFormData.Part) -> String? {
        part.header("content-disposition").flatMap { parameter("filename", in: $0) }
    }
}
