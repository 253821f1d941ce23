import Foundation
import Hummingbird
import ViTImages
import ViTServing

/// An HTTP error answer: a status, a stable machine-readable `code`, and a message saying what
/// was wrong and what was expected, sent as `{"error": {"code": …, "message": …}}`.
public struct APIError: Error, HTTPResponseError, Sendable, Equatable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A stable identifier of the kind of error (`unsupported_media_type`, `overloaded`, …).
    public var code: String
    /// What was wrong, for a person.
    public var message: String
    /// Seconds after which a retry may succeed (sent as `Retry-After`), for 503 answers.
    public var retryAfterSeconds: Int?
    /// The methods the path accepts (sent as `Allow`), for 405 answers.
    public var allowedMethods: [HTTPRequest.Method]

    /// Creates an error answer.
    public init(_ status: HTTPResponse.Status, code: String, message: String, retryAfterSeconds: Int? = nil,
                allowedMethods: [HTTPRequest.Method] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.allowedMethods = allowedMethods
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    /// The JSON response (Hummingbird calls this for a thrown error).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response(status: status, headers: [.contentType: "application/json"],
                                body: ResponseBody(byteBuffer: jsonBody()))
        if let retryAfterSeconds {
            response.headers[.retryAfter] = String(retryAfterSeconds)
        }
        if !allowedMethods.isEmpty {
            response.headers[.allow] = allowedMethods.map(\.rawValue).joined(separator: ", ")
        }
        return response
    }

    /// `{"error": {"code": …, "message": …}}`.
    func jsonBody() -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Two strings always encode.
        let data = (try? encoder.encode(Body(error: .init(code: code, message: message)))) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }
}

extension APIError {
    static func badRequest(_ code: String, _ message: String) -> APIError {
        APIError(.badRequest, code: code, message: message)
    }

    static func bodyTooLarge(_ bytes: Int?, limit: Int) -> APIError {
        let size = bytes.map { "\($0) bytes" } ?? "more than \(limit) bytes"
        return APIError(.contentTooLarge, code: "body_too_large",
                        message: "the request body is \(size), above the server's limit of \(limit) bytes")
    }

    static func unknownModel(_ name: String, available: [String]) -> APIError {
        APIError(.notFound, code: "unknown_model",
                 message: "no model '\(name)' is served here; available: \(available.joined(separator: ", "))")
    }

    /// The answer for a failed inference request.
    init(_ error: ServingError) {
        switch error {
        case let .overloaded(_, retryAfter):
            self.init(.serviceUnavailable, code: "overloaded", message: error.description,
                      retryAfterSeconds: ServingError.seconds(retryAfter))
        case .timedOut:
            self.init(.serviceUnavailable, code: "timeout", message: error.description, retryAfterSeconds: 1)
        case .shuttingDown:
            self.init(.serviceUnavailable, code: "shutting_down", message: error.description, retryAfterSeconds: 1)
        case .cancelled:
            self.init(.serviceUnavailable, code: "cancelled", message: error.description)
        case let .invalidImage(image):
            self.init(image)
        case let .invalidInput(field, _):
            self.init(.badRequest, code: "invalid_\(field)", message: error.description)
        case .engine:
            self.init(.internalServerError, code: "inference_failed", message: error.description)
        }
    }

    /// The answer for an image that could not be decoded.
    init(_ error: ImageError) {
        let message = error.description
        switch error {
        case .notAnImage:
            self.init(.unsupportedMediaType, code: "unsupported_media_type", message: message + "; send a JPEG or PNG image")
        case .unsupported:
            self.init(.unsupportedMediaType, code: "unsupported_image", message: message)
        case .tooLarge:
            self.init(.contentTooLarge, code: "too_many_pixels", message: message)
        case .fileTooLarge:
            self.init(.contentTooLarge, code: "body_too_large", message: message)
        case .empty:
            self.init(.badRequest, code: "empty_body", message: message)
        case .truncated, .corrupt, .unreadable:
            self.init(.badRequest, code: "invalid_image", message: message)
        case .unsupportedPreprocessing:
            self.init(.internalServerError, code: "unsupported_model", message: message)
        }
    }
}

/// JSON responses with the server's encoder settings.
enum JSONBody {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            // Only a non-finite number can fail (JSON has none); say so rather than send half a body.
            let message = #"{"error":{"code":"not_finite","message":"the result holds a value that is not finite"}}"#
            return Response(status: .internalServerError, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: message)))
        }
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
