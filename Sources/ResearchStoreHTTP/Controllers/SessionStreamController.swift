import FoundationEssentials
import Hummingbird
import ResearchStore
import ServiceLifecycle

/// `GET /db/sessions/{id}/stream`: the session's events as Server-Sent Events.
struct SessionStreamController {
    let streams: SessionStreamService

    func register(with router: Router<AppRequestContext>) {
        router.get("/db/sessions/:id/stream", use: stream)
    }

    @Sendable func stream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let opened = try await streams.open(
            caller: try context.requireCaller(), sessionID: context.parameters.get("id") ?? "", query: request.queryValues,
            lastEventID: request.headers[.lastEventID])
        let streams = self.streams
        let channel = context.channel
        let logger = context.logger
        // A client that hangs up ends its stream at once, freeing its slot.
        HangUpDetector.watch(channel) { streams.end(opened) }
        let body = ResponseBody { writer in
            // The server waits for its responses before it stops: a stream ends as soon as the
            // server's graceful shutdown begins (whoever began it), not when its deadline cancels it.
            try await withGracefulShutdownHandler {
                try await WriteDeadline.run(
                    timeout: streams.writeTimeout,
                    onStall: {
                        logger.warning("stream client stopped reading; closing the connection")
                        channel.close(promise: nil)
                    }
                ) { deadline in
                    try await streams.run(opened) { events in
                        var bytes: [UInt8] = []
                        if events.isEmpty { bytes.append(contentsOf: ": keep-alive\n\n".utf8) }
                        for event in events { event.writeServerSentEvent(to: &bytes) }
                        try await deadline.watch { try await writer.write(ByteBuffer(bytes: bytes)) }
                    }
                }
            } onGracefulShutdown: {
                streams.end(opened)
            }
            HangUpDetector.stopWatching(channel)
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no"],
            body: body)
    }
}

extension SessionEvent {
    /// `event:`, `id:` (a message's seq) and one `data:` line of JSON (which has no line breaks).
    func writeServerSentEvent(to output: inout [UInt8]) {
        switch self {
        case .message(let message):
            output.append(contentsOf: "event: message\nid: \(message.seq)\ndata: ".utf8)
            message.writeJSON(to: &output)
        case .session(let session):
            output.append(contentsOf: "event: session\ndata: ".utf8)
            session.json.write(to: &output)
        case .research(let request):
            output.append(contentsOf: "event: research\ndata: ".utf8)
            request.json.write(to: &output)
        case .deleted:
            output.append(contentsOf: "event: deleted\ndata: {}".utf8)
        }
        output.append(contentsOf: "\n\n".utf8)
    }
}
