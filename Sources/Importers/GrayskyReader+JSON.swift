#if canImport(Glibc)
import Glibc
#endif
import ResearchStore

extension GrayskyReader {
    /// Loads `visitors.json` and `feedback.json` of `folder` (either may be missing, not both).
    func loadJSON(folder: String) throws {
        let visitorsFile = folder + "/visitors.json"
        let feedbackFile = folder + "/feedback.json"
        let hasVisitors = access(visitorsFile, R_OK) == 0
        let hasFeedback = access(feedbackFile, R_OK) == 0
        guard hasVisitors || hasFeedback else { throw ImportFailure("\(folder) has neither visitors.json nor feedback.json") }
        if hasVisitors {
            for (index, value) in try Self.array(visitorsFile).enumerated() {
                var visitor = Visitor(fields: Self.fields(value, index: index, texts: ["name", "agent_type", "purpose", "visit_time"]))
                visitor.fields.integers["visit_count"] = Self.integer(value["visit_count"])
                switch value["answers"] {
                case .object(let members)?:
                    for member in members {
                        guard case .string(let text) = member.value else {
                            visitor.problem = SourceProblem("answers holds a value that is not a string")
                            continue
                        }
                        visitor.answers.append((member.key, text))
                    }
                case nil, .null?: break
                default: visitor.problem = SourceProblem("answers is not an object")
                }
                visitors.append(visitor)
            }
        }
        if hasFeedback {
            for (index, value) in try Self.array(feedbackFile).enumerated() {
                var fields = Self.fields(
                    value, index: index,
                    texts: ["agent_name", "agent_type", "submission_time", "issues", "feature_requests", "additional_comments"])
                fields.integers["usability_rating"] = Self.integer(value["usability_rating"])
                feedback.append(fields)
            }
        }
    }

    private static func array(_ path: String) throws -> [JSONValue] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(try SourceFile.read(path))
        } catch let failure as JSONParser.Failure {
            throw ImportFailure("\(path) is not JSON we can store: \(failure.message) \(failure.path)")
        }
        guard case .array(let items) = value else { throw ImportFailure("\(path) is not an array") }
        return items
    }

    private static func fields(_ value: JSONValue, index: Int, texts: [String]) -> Fields {
        var fields = Fields(id: { if case .string(let id)? = value["id"] { id } else { "#\(index + 1)" } }())
        for name in texts {
            switch value[name] {
            case nil, .null?: continue
            case .string(let text)?: fields.text[name] = .success(text)
            default: fields.text[name] = .failure(SourceProblem("\(name) is not a string"))
            }
        }
        return fields
    }

    /// nil: absent; .some(nil): present but not a whole number.
    private static func integer(_ value: JSONValue?) -> Int64?? {
        switch value {
        case nil, .null?: return nil
        case .number(let text)?: return .some(Int64(text))
        default: return .some(nil)
        }
    }
}
