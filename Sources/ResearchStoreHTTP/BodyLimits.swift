import Hummingbird
import Logging
import Synchronization
import ResearchStore

/// Request body limits from the contract.
public enum BodyLimits {
    public static let standard = 1024 * 1024
    public static let batch = 8 * 1024 * 1024
    /// `PUT /db/cache/{key}`: a value may be 1 MiB, so its envelope may be larger.
    public static let cache = 2 * 1024 * 1024

    /// How long a request body may take to arrive; set per request by `LimitsMiddleware`.
    @TaskLocal static var readTimeout: Duration = .seconds(30)
}
