import NIOCore
import Synchronization

/// Caps the connections the server holds at once. Every connection gets a handler sharing one
/// counter; a connection beyond `maximum` is closed as soon as it opens, before anything is
/// read, so hundreds of idle or trickling clients cannot take file descriptors and memory from
/// the clients the server is answering (the timeouts end them, the cap bounds them meanwhile).
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = Atomic<Int>(0)

    init(maximum: Int) { self.maximum = maximum }

    /// Connections held now.
    var count: Int { open.load(ordering: .relaxed) }

    /// The handler for one new connection.
    func makeHandler() -> Handler { Handler(limit: self) }

    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny

        private let limit: ConnectionLimit
        private var counted = false

        init(limit: ConnectionLimit) { self.limit = limit }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { admit(context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            admit(context)
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            release()
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) { release() }

        private func admit(_ context: ChannelHandlerContext) {
            guard !counted else { return }
            counted = true
            if limit.open.add(1, ordering: .relaxed).newValue > limit.maximum {
                context.close(promise: nil)
            }
        }

        private func release() {
            guard counted else { return }
            counted = false
            limit.open.subtract(1, ordering: .relaxed)
        }
    }
}
