/// The tables of ours an import writes, in the order they are written and reported.
public enum ImportTable: String, Sendable, CaseIterable, Comparable {
    case users, sessions, messages
    case researchRequests = "research_requests"
    case researchStatusHistory = "research_status_history"
    case feedback
    case llmUsage = "llm_usage"
    case analyticsEvents = "analytics_events"

    public static func < (lhs: ImportTable, rhs: ImportTable) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
