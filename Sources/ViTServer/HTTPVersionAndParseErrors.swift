import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Two HTTP/1 conventions Hummingbird's channel does not keep, handled where the request's version
/// is still known (before the HTTP/1 parts become version-less `HTTPTypes`):
///
/// - **HTTP/1.0.** A request is answered in HTTP/1.0, and its connection is closed after the
///   answer unless it asked for `Connection: keep-alive` (HTTP/1.0's default is to close). Any
///   request that asks to close (`Connection: close` in any spelling) is answered with
///   `Connection: close` and the connection then closes. A request line naming another major
///   version (`HTTP/2.0` or `HTTP/0.9` in HTTP/1 framing) is answered 505 and the connection
///   closed: the server speaks HTTP/1.x here and must not claim another version.
/// - **Requests that cannot be parsed** (headers above the decoder's limits, a malformed request
///   line) are answered with a JSON error like every other error — 431 for headers too large, 400
///   otherwise — and the connection is closed, instead of an empty 400.
final class HTTPVersionAndParseErrors: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The requests read and not yet answered, oldest first: their version and whether the
    /// connection stays open after their answer.
    private var pending: [(version: HTTPVersion, keepAlive: Bool)] = []
    /// Whether the current answer closes the connection when it ends.
    private var closeAfterResponse = false
    /// Set once this handler has answered and is closing: what else arrives is dropped.
    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard case var .head(head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        guard head.version.major == 1 else {
            guard pending.isEmpty else { return context.fireErrorCaught(HTTPParserError.invalidVersion) }
            return answerAndClose(context, Self.versionNotSupported("\(head.version)"))
        }
        let keepAlive = head.isKeepAlive
        pending.append((head.version, keepAlive))
        // Hummingbird ends a connection after a request whose header reads exactly "close".
        if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case var .head(head) where head.status.code >= 200:
            let request = pending.isEmpty ? (version: HTTPVersion.http1_1, keepAlive: true) : pending.removeFirst()
            head.version = request.version == .http1_0 ? .http1_0 : .http1_1
            closeAfterResponse = !request.keepAlive
            if !request.keepAlive {
                head.headers.replaceOrAdd(name: "connection", value: "close")
            } else if request.version == .http1_0 {
                head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            closeAfterResponse = false
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
            context.write(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // While a request is being answered, the answer comes first; Hummingbird then closes.
        guard let parseError = error as? HTTPParserError, pending.isEmpty, !refused else { return context.fireErrorCaught(error) }
        let answer: APIError = switch parseError {
        case .headerOverflow:
            APIError(.requestHeaderFieldsTooLarge, code: "headers_too_large",
                     message: "the request's headers are above the server's limit of \(HTTPVersionAndParseErrors.headerLimit) bytes")
        case .invalidVersion:
            Self.versionNotSupported("the request line's version")
        default:
            APIError(.badRequest, code: "malformed_request", message: "the request is not valid HTTP/1.1 (\(parseError))")
        }
        answerAndClose(context, answer)
    }

    /// Writes `answer` as a JSON response that closes the connection, then closes it; nothing
    /// read afterwards is passed on.
    private func answerAndClose(_ context: ChannelHandlerContext, _ answer: APIError) {
        refused = true
        let body = answer.jsonBody()
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: answer.status.code),
                                                             headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    static func versionNotSupported(_ version: String) -> APIError {
        APIError(.httpVersionNotSupported, code: "http_version_not_supported",
                 message: "\(version) is not served here; send HTTP/1.1 or HTTP/1.0")
    }

    /// Hummingbird's default limit on a request's header list (and on one field).
    static let headerLimit = HTTP1Channel.Configuration.DecoderConfiguration().maxHeaderListSize
}

/// Hummingbird's HTTP/1 channel with ``HTTPVersionAndParseErrors`` placed between the HTTP/1
/// decoder and the conversion to `HTTPTypes`, where the request's version is still visible.
struct VersionAwareHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let codec = try operations.context(handlerType: HTTP1ToHTTPServerCodec.self)
            try operations.addHandler(HTTPVersionAndParseErrors(), position: .before(codec.handler))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1 server with the conventions of ``HTTPVersionAndParseErrors``.
    static func versionAwareHTTP1(configuration: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        .init { responder in VersionAwareHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration)) }
    }
}
