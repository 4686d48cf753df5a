import Hummingbird
import Logging
import Synchronization
import ResearchStore

/// The caller's user id once known, for the request log.
final class RequestIdentity: Sendable {
    private let storage = Mutex<String?>(nil)

    var userID: String? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
