import NIOCore

/// Tells a long response that its client went away. The server allows half-closed connections,
/// so a client's FIN closes only the input, which nothing reads while a stream is sent: without
/// this, a gone client would be noticed only at the next write (a keep-alive, up to
/// `STREAM_HEARTBEAT_S` later), holding its stream slot until then.
final class HangUpDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private static let name = "research-store.hang-up-detector"
    private let onHangUp: @Sendable () -> Void

    private init(onHangUp: @escaping @Sendable () -> Void) {
        self.onHangUp = onHangUp
    }

    /// Calls `onHangUp` when the input of `channel` closes or the channel goes inactive, until
    /// `stopWatching` (one response at a time per connection: HTTP/1.1).
    static func watch(_ channel: any Channel, onHangUp: @escaping @Sendable () -> Void) {
        channel.eventLoop.execute {
            // First in the pipeline: the events come from the socket, before any decoder.
            try? channel.pipeline.syncOperations.addHandler(HangUpDetector(onHangUp: onHangUp), name: name, position: .first)
        }
    }

    static func stopWatching(_ channel: any Channel) {
        channel.eventLoop.execute {
            channel.pipeline.syncOperations.removeHandler(name: name, promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { onHangUp() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        onHangUp()
        context.fireChannelInactive()
    }
}
