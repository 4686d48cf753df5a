import FoundationEssentials
import ResearchStore

// How a message looks on the wire.

extension Message {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("session_id", .string(sessionID.lowercased)),
            ("seq", .integer(seq)),
            ("role", .string(role)),
            ("content", .string(content)),
            ("token_count", .integer(tokenCount)),
            ("token_count_estimated", .bool(tokenCountEstimated)),
            ("tokens", tokens.map { .object([("o200k_base", .integer($0.o200kBase)), ("cl100k_base", .integer($0.cl100kBase))]) } ?? .null),
            ("model", model.map(JSONValue.string) ?? .null),
            ("metadata", metadata),
            ("created_at", .timestamp(createdAt)),
        ])
    }
}

extension Message {
    /// The bytes of `json`, written straight into `output` without building the tree: the
    /// context writes up to a thousand messages per answer, and the tree cost an allocation a field.
    func writeJSON(to output: inout [UInt8]) {
        func key(_ name: StaticString) {
            output.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
        key(#"{"id":""#)
        output.append(contentsOf: id.lowercased.utf8)
        key(#"","session_id":""#)
        output.append(contentsOf: sessionID.lowercased.utf8)
        key(#"","seq":"#)
        output.append(contentsOf: String(seq).utf8)
        key(#","role":"#)
        JSONValue.writeString(role, to: &output)
        key(#","content":"#)
        JSONValue.writeString(content, to: &output)
        key(#","token_count":"#)
        output.append(contentsOf: String(tokenCount).utf8)
        key(tokenCountEstimated ? #","token_count_estimated":true,"tokens":"# : #","token_count_estimated":false,"tokens":"#)
        if let tokens {
            key(#"{"o200k_base":"#)
            output.append(contentsOf: String(tokens.o200kBase).utf8)
            key(#","cl100k_base":"#)
            output.append(contentsOf: String(tokens.cl100kBase).utf8)
            key("}")
        } else {
            key("null")
        }
        key(#","model":"#)
        if let model { JSONValue.writeString(model, to: &output) } else { key("null") }
        key(#","metadata":"#)
        metadata.write(to: &output)
        key(#","created_at":""#)
        output.append(contentsOf: Timestamp.format(createdAt).utf8)
        key(#""}"#)
    }
}

