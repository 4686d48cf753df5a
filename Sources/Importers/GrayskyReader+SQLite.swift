import SQLite

extension GrayskyReader {
    /// Loads the visitors (with their answers) and the feedback of the SQLite database.
    func loadSQLite(_ path: String) throws {
        let database = try SQLiteDatabase(readOnly: path)
        guard try database.hasTable("visitors") || database.hasTable("feedback") else {
            throw ImportFailure("\(path) has neither visitors nor feedback: not a Graysky database (or folder of its JSON files)")
        }
        var byID: [String: Int] = [:]
        if try database.hasTable("visitors") {
            let rows = try database.prepare("SELECT id, name, agent_type, purpose, visit_time, visit_count FROM visitors ORDER BY visit_time, id")
            while try rows.step() {
                var fields = Self.fields(rows, texts: [1: "name", 2: "agent_type", 3: "purpose", 4: "visit_time"])
                fields.integers["visit_count"] = rows.isNull(5) ? nil : .some(rows.integer(5))
                byID[fields.id] = visitors.count
                visitors.append(Visitor(fields: fields))
            }
        }
        if try database.hasTable("answers") {
            let rows = try database.prepare("SELECT id, visitor_id, key, value FROM answers ORDER BY id")
            while try rows.step() {
                let id = rows.text(0) ?? ""
                guard let index = byID[rows.text(1) ?? ""] else {
                    problems.append(BadRow(table: "answers", sourceID: id, reason: "orphan: visitor not found"))
                    continue
                }
                do {
                    let key = try SourceValues.text(rows.bytes(2) ?? [], field: "key")
                    let value = try SourceValues.text(rows.bytes(3) ?? [], field: "value")
                    visitors[index].answers.append((key, value))
                } catch {
                    visitors[index].problem = SourceProblem("answer \(id): " + SourceProblem.reason(error))
                }
            }
        }
        if try database.hasTable("feedback") {
            let rows = try database.prepare(
                """
                SELECT id, agent_name, agent_type, submission_time, issues, feature_requests, usability_rating, additional_comments
                FROM feedback ORDER BY submission_time, id
                """)
            while try rows.step() {
                var fields = Self.fields(
                    rows, texts: [1: "agent_name", 2: "agent_type", 3: "submission_time", 4: "issues", 5: "feature_requests", 7: "additional_comments"])
                fields.integers["usability_rating"] = rows.isNull(6) ? nil : .some(rows.integer(6))
                feedback.append(fields)
            }
        }
    }

    private static func fields(_ row: SQLiteStatement, texts: [Int32: String]) -> Fields {
        var fields = Fields(id: row.text(0) ?? "")
        for (index, name) in texts {
            guard let bytes = row.bytes(index) else { continue }
            fields.text[name] = Result { () throws(SourceProblem) in
                do { return try SourceValues.text(bytes, field: name) } catch { throw error as? SourceProblem ?? SourceProblem("\(error)") }
            }
        }
        return fields
    }
}
