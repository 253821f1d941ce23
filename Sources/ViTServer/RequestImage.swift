import Foundation
import Hummingbird
import MultipartKit
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
        let contentType = request.headers[.contentType] ?? ""
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
        var parts: [MultipartPart] = []
        var headers = HTTPHeaders()
        var partBody = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in headers.add(name: name, value: value) }
        parser.onBody = { chunk in partBody.writeBuffer(&chunk) }
        parser.onPartComplete = {
            parts.append(MultipartPart(headers: headers, body: partBody))
            headers = HTTPHeaders()
            partBody = ByteBuffer()
        }
        do {
            try parser.execute(body)
        } catch {
            throw .badRequest("invalid_multipart", "the multipart/form-data body is malformed (\(error)); expected "
                              + "parts that each start with a '--\(boundary)' line, and a closing '--\(boundary)--'")
        }
        // The parser stops quietly at the end of the data; a body cut short would otherwise
        // yield its complete parts only, and perhaps the wrong one.
        let closing = "--\(boundary)--"
        let tail = String(decoding: body.readableBytesView.suffix(closing.utf8.count + 4), as: UTF8.self)
        guard tail.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(closing) else {
            throw .badRequest("invalid_multipart", "the multipart/form-data body ends before its closing '\(closing)' "
                              + "line (cut short?); no complete part was taken")
        }
        let chosen = parts.first { ["image", "file"].contains($0.name ?? "") }
            ?? parts.first { filename(of: $0) != nil }
            ?? parts.first
        guard let chosen else {
            throw .badRequest("invalid_multipart", "the multipart/form-data body has no complete part; "
                              + "send the image as a field named 'image' (e.g. curl -F image=@photo.jpg)")
        }
        let name = filename(of: chosen) ?? "multipart field \"\(chosen.name ?? "")\""
        return RequestImage(data: Data(chosen.body.readableBytesView), name: name)
    }

    /// The `filename` parameter of a part's Content-Disposition.
    private static func filename(of part: MultipartPart) -> String? {
        part.headers.first(name: "Content-Disposition").flatMap { parameter("filename", in: $0) }
    }
}
