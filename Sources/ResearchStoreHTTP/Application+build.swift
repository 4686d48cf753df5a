import Hummingbird
import Logging
import PostgresPool
import ResearchStore
import ServiceLifecycle

/// Builds the router: the middleware every request passes, then each controller's routes.
public func buildRouter(
    health: HealthService, pool: PostgresPool, metrics: AppMetrics = AppMetrics(), settings: HTTPSettings = HTTPSettings()
) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: ProblemMiddleware())
    router.add(
        middleware: LimitsMiddleware(
            maximumConcurrent: settings.maximumConcurrentRequests, maximumURLBytes: settings.maximumURLBytes,
            bodyReadTimeout: settings.bodyReadTimeout))
    router.add(middleware: AuthMiddleware(mode: settings.auth))
    if let rateLimit = settings.rateLimit {
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(rate: rateLimit.rate, burst: rateLimit.burst)))
    }
    HealthController(health: health).register(with: router)
    MetricsController(metrics: metrics, health: health).register(with: router)
    OpenAPIController().register(with: router)
    let idempotent = IdempotentCreate(idempotency: IdempotencyService(pool: pool))
    SessionsController(sessions: SessionService(pool: pool), idempotent: idempotent).register(with: router)
    MessagesController(
        messages: MessageService(pool: pool), context: ContextService(pool: pool), idempotent: idempotent, metrics: metrics
    ).register(with: router)
    ResearchController(research: ResearchService(pool: pool), idempotent: idempotent).register(with: router)
    AnalyticsController(analytics: AnalyticsService(pool: pool), idempotent: idempotent, metrics: metrics).register(with: router)
    UsageController(usage: LLMUsageService(pool: pool), idempotent: idempotent, metrics: metrics).register(with: router)
    FeedbackController(feedback: FeedbackService(pool: pool), idempotent: idempotent).register(with: router)
    AdminController(statistics: AdminStatisticsService(pool: pool), audit: AuditService(pool: pool)).register(with: router)
    DomainSetsController(domainSets: DomainSetService(pool: pool), idempotent: idempotent).register(with: router)
    CacheController(cache: CacheService(pool: pool)).register(with: router)
    UsersController(users: UserService(pool: pool)).register(with: router)
    return router
}

/// Builds the whole application: router, pool service, expiry sweeper (every `sweepInterval`)
/// and shutdown signal. Tests reuse it.
public func buildApplication(
    settings: HTTPSettings, pool: PostgresPool, version: String, logger: Logger, metrics: AppMetrics = AppMetrics(),
    sweepInterval: Duration = .seconds(60), shutdown: ShutdownState = ShutdownState()
) -> some ApplicationProtocol {
    let health = HealthService(pool: pool, shutdown: shutdown, version: version)
    return Application(
        router: buildRouter(health: health, pool: pool, metrics: metrics, settings: settings),
        server: .http1(
            configuration: .init(
                idleTimeout: .nanoseconds(Int64(settings.idleTimeout.components.seconds) * 1_000_000_000),
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: settings.maximumHeaderBytes, maxHeaderListSize: settings.maximumHeaderBytes,
                    maxHeaderFieldCount: 200))),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "research-store"),
        services: [pool, ExpirySweeper(pool: pool, interval: sweepInterval, logger: logger)],
        logger: logger)
}
