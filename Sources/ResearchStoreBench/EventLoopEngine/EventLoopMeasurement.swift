#if canImport(Glibc)
extension BenchSetup {
    /// One closed-loop run at `tasks` concurrency on an event-loop engine of `tasks` connections
    /// (statements always prepared); prints a RESULT line with `engine=event-loop` or `event-loop-pinned`.
    func measureOnEventLoop<Operation: BenchOperation>(
        _ name: String, operation: Operation, tasks: Int, engine kind: Engine
    ) async throws where Operation.Target == EventLoopEngine {
        progress("\(name) tasks=\(tasks) engine=\(kind.rawValue): \(warmupSeconds)s warm-up + \(durationSeconds)s")
        let runner = LoadRunner(
            operation: operation, tasks: tasks, warmupSeconds: warmupSeconds, durationSeconds: durationSeconds)
        let engine = try await EventLoopEngine.open(
            configuration: connection, count: tasks, pinsTasks: kind == .eventLoopPinned)
        let outcome: LoadRunner<Operation>.Outcome
        do {
            outcome = try await runner.run(on: engine)
        } catch {
            await engine.close()
            throw error
        }
        await engine.close()
        ReportLine.result(
            name, engine: kind, tasks: tasks, prepared: true, outcome: outcome, connectionsOpen: tasks
        ).emit()
    }
}
#endif
