import CLibPQ
import Logging

/// Sends PostgreSQL's notices (`NOTICE`, `WARNING`, …) to the logger instead of stderr.
final class NoticeReceiver: Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }

    func receive(_ result: OpaquePointer) {
        func field(_ code: UInt8) -> String {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) } ?? ""
        }
        let severity = field(UInt8(ascii: "V"))
        let level: Logger.Level = severity == "WARNING" ? .warning : .debug
        logger.log(
            level: level, "postgres notice",
            metadata: [
                "db.notice.severity": "\(severity)",
                "db.notice.sqlstate": "\(field(UInt8(ascii: "C")))",
                "db.notice.message": "\(field(UInt8(ascii: "M")))",
            ])
    }
}

/// The C callback libpq calls; `context` is an unretained `NoticeReceiver` owned by the connection.
let noticeReceiverCallback: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?) -> Void = { context, result in
    guard let context, let result else { return }
    Unmanaged<NoticeReceiver>.fromOpaque(context).takeUnretainedValue().receive(result)
}
