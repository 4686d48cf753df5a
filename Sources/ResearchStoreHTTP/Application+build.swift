import Hummingbird
import Logging
import Postgres
import PostgresPool
import ResearchStore
import ServiceLifecycle

/// Builds the router: the middleware every request passes, then each controller's routes.
/// Cursors are signed with `cursors`; exports run through `exports` (by default on `pool`).
public func buildRouter(
    health: HealthService, pool: PostgresPool, metrics: AppMetrics = AppMetrics(), settings: HTTPSettings = HTTPSettings(),
    cursors: CursorSigner = .random(), exports: ExportGate? = nil, tokenCounting: TokenCountingMode = .default,
    streams: SessionEventHub = SessionEventHub(), consistency: ConsistencyService? = nil
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
    router.add(
        middleware: ConsistencyMiddleware(
            consistency: consistency ?? ConsistencyService(primary: pool, replicas: nil, signer: cursors), metrics: metrics))
    let messages = MessageService(
        pool: pool, cursors: cursors, counting: tokenCounting, flushed: { metrics.recordMessageFlush($0) })
    HealthController(health: health).register(with: router)
    MetricsController(metrics: metrics, health: health, messages: messages).register(with: router)
    OpenAPIController().register(with: router)
    DashboardController(auth: settings.auth).register(with: router)
    let idempotent = IdempotentCreate(idempotency: IdempotencyService(pool: pool))
    SessionsController(sessions: SessionService(pool: pool, cursors: cursors), idempotent: idempotent).register(with: router)
    SessionStreamController(streams: SessionStreamService(pool: pool, hub: streams)).register(with: router)
    MessagesController(
        messages: messages, context: ContextService(pool: pool), idempotent: idempotent, metrics: metrics
    ).register(with: router)
    ResearchController(research: ResearchService(pool: pool, cursors: cursors), idempotent: idempotent).register(with: router)
    AnalyticsController(analytics: AnalyticsService(pool: pool), idempotent: idempotent, metrics: metrics).register(with: router)
    UsageController(usage: LLMUsageService(pool: pool), idempotent: idempotent, metrics: metrics).register(with: router)
    FeedbackController(feedback: FeedbackService(pool: pool), idempotent: idempotent).register(with: router)
    AdminController(statistics: AdminStatisticsService(pool: pool), audit: AuditService(pool: pool, cursors: cursors)).register(with: router)
    DomainSetsController(domainSets: DomainSetService(pool: pool, cursors: cursors), idempotent: idempotent).register(with: router)
    CacheController(cache: CacheService(pool: pool)).register(with: router)
    TokensController(tokens: TokenCountService()).register(with: router)
    UsersController(users: UserService(pool: pool, exports: exports ?? ExportGate(pool: pool, limits: ExportLimits())))
        .register(with: router)
    return router
}

/// Builds the whole application: router, request pool, the exports' own pool, the health probe's
/// connection, expiry sweeper (every `sweepInterval`) and shutdown signal; stored messages are
/// counted as `tokenCounting` says, research leases end as `researchLeases` says, session
/// streams listen on `listenConfiguration` (default: the pool's), and reads may go to `replicas`
/// as `replicaSettings` allow. Tests reuse it.
public func buildApplication(
    settings: HTTPSettings, pool: PostgresPool, version: String, logger: Logger, metrics: AppMetrics = AppMetrics(),
    sweepInterval: Duration = .seconds(60), shutdown: ShutdownState = ShutdownState(), cursors: CursorSigner = .random(),
    exportLimits: ExportLimits = ExportLimits(), tokenCounting: TokenCountingMode = .default,
    researchLeases: ResearchLeaseSettings = ResearchLeaseSettings(), streams: StreamSettings = StreamSettings(),
    listenConfiguration: PostgresConfiguration? = nil, replicas: ReadReplicas? = nil, replicaSettings: ReplicaSettings = ReplicaSettings()
) -> some ApplicationProtocol {
    let probe = DatabaseProbe(configuration: pool.connectionConfiguration, logger: logger)
    let health = HealthService(pool: pool, probe: probe, shutdown: shutdown, version: version, replicas: replicas)
    var exportPoolConfiguration = PostgresPoolConfiguration()
    exportPoolConfiguration.maximumConnections = exportLimits.maximumConcurrent
    exportPoolConfiguration.acquireTimeout = pool.configuration.acquireTimeout
    exportPoolConfiguration.shutdownGracePeriod = pool.configuration.shutdownGracePeriod
    let exportPool = PostgresPool(configuration: exportPoolConfiguration, connection: pool.connectionConfiguration, logger: logger)
    let exports = ExportGate(pool: exportPool, limits: exportLimits)
    let hub = SessionEventHub(settings: streams)
    let listener = SessionEventListener(
        hub: hub, configuration: listenConfiguration ?? pool.connectionConfiguration, heartbeat: streams.heartbeat,
        shutdown: shutdown, logger: logger)
    return Application(
        router: buildRouter(
            health: health, pool: pool, metrics: metrics, settings: settings, cursors: cursors, exports: exports,
            tokenCounting: tokenCounting, streams: hub,
            consistency: ConsistencyService(primary: pool, replicas: replicas, signer: cursors, settings: replicaSettings)),
        server: .http1(
            configuration: .init(
                idleTimeout: .nanoseconds(Int64(settings.idleTimeout.components.seconds) * 1_000_000_000),
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: settings.maximumHeaderBytes, maxHeaderListSize: settings.maximumHeaderBytes,
                    maxHeaderFieldCount: 200))),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "research-store"),
        services: [
            pool, exportPool, probe, ExpirySweeper(pool: pool, interval: sweepInterval, logger: logger),
            ResearchLeaseSweeper(pool: pool, settings: researchLeases, logger: logger), listener,
        ] + (replicas.map { [$0 as any Service] } ?? []),
        logger: logger)
}
