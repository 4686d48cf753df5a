/// Parses request bodies strictly: valid UTF-8, at most `maximumDepth` levels of nesting (the
/// root is level 1), no `\u0000` in any string (PostgreSQL text cannot hold it), and only
/// numbers that survive storage unchanged (integers within int64, finite doubles).
public struct JSONParser {
    /// Why a body was refused. `isSyntax` separates "not JSON" (400) from "JSON we will not
    /// store" (422, with the JSON path of the offending value in `path`).
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
        public var path: String
        public var isSyntax: Bool
    }

    public static let maximumDepth = 32

    private let bytes: [UInt8]
    private var position = 0

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0, path: "")
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.syntax("unexpected data after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func syntax(_ message: String) -> Failure {
        Failure(message: "\(message) at byte \(position)", path: "", isSyntax: true)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func parseValue(depth: Int, path: String) throws(Failure) -> JSONValue {
        guard position < bytes.count else { throw syntax("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1, path: path)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1, path: path)
        case UInt8(ascii: "\""): return .string(try parseString(path: path))
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        default: return .number(try parseNumber(path: path))
        }
    }

    private mutating func expectLiteral(_ literal: String) throws(Failure) {
        let expected = literal.utf8
        guard position + expected.count <= bytes.count,
            bytes[position..<(position + expected.count)].elementsEqual(expected)
        else { throw syntax("invalid literal") }
        position += expected.count
    }

    private func checkDepth(_ depth: Int, path: String) throws(Failure) {
        if depth > Self.maximumDepth {
            throw Failure(
                message: "nested deeper than \(Self.maximumDepth) levels", path: path.isEmpty ? "$" : path,
                isSyntax: false)
        }
    }

    private mutating func parseObject(depth: Int, path: String) throws(Failure) -> JSONValue {
        try checkDepth(depth, path: path)
        position += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw syntax("expected a key") }
            let key = try parseString(path: path)
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw syntax("expected ':'") }
            position += 1
            skipWhitespace()
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            members.append((key, try parseValue(depth: depth, path: childPath)))
            skipWhitespace()
            guard position < bytes.count else { throw syntax("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard bytes[position] == UInt8(ascii: "}") else { throw syntax("expected ',' or '}'") }
            position += 1
            return .object(members)
        }
    }

    private mutating func parseArray(depth: Int, path: String) throws(Failure) -> JSONValue {
        try checkDepth(depth, path: path)
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth, path: "\(path)[\(items.count)]"))
            skipWhitespace()
            guard position < bytes.count else { throw syntax("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            guard bytes[position] == UInt8(ascii: "]") else { throw syntax("expected ',' or ']'") }
            position += 1
            return .array(items)
        }
    }

    private mutating func parseString(path: String) throws(Failure) -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flushRun(_ parser: JSONParser, _ end: Int, into scalars: inout String.UnicodeScalarView) throws(Failure) {
            guard runStart < end else { return }
            guard let text = String(validating: parser.bytes[runStart..<end], as: UTF8.self) else {
                throw parser.syntax("invalid UTF-8")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                try flushRun(self, position, into: &scalars)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flushRun(self, position, into: &scalars)
                position += 1
                scalars.append(try parseEscape(path: path))
                runStart = position
            case 0..<0x20:
                throw syntax("control character in a string")
            default:
                position += 1
            }
        }
        throw syntax("unterminated string")
    }

    private mutating func parseEscape(path: String) throws(Failure) -> Unicode.Scalar {
        guard position < bytes.count else { throw syntax("unterminated escape") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try parseHex4()
            if unit == 0 {
                throw Failure(
                    message: "contains \\u0000, which cannot be stored", path: path.isEmpty ? "$" : path,
                    isSyntax: false)
            }
            if (0xD800..<0xDC00).contains(unit) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else { throw syntax("unpaired surrogate") }
                position += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw syntax("unpaired surrogate") }
                let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                return Unicode.Scalar(value)!
            }
            guard let scalar = Unicode.Scalar(unit) else { throw syntax("unpaired surrogate") }
            return scalar
        default:
            throw syntax("invalid escape")
        }
    }

    private mutating func parseHex4() throws(Failure) -> UInt16 {
        guard position + 4 <= bytes.count else { throw syntax("short \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw syntax("invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    /// RFC 8259 number grammar, then the storage check.
    private mutating func parseNumber(path: String) throws(Failure) -> String {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let begin = parser.position
            while parser.position < parser.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.position])
            {
                parser.position += 1
            }
            return parser.position - begin
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw syntax("invalid value") }
        if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") { throw syntax("leading zero in a number") }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            isInteger = false
            guard digits(&self) > 0 else { throw syntax("digits expected after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            isInteger = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits(&self) > 0 else { throw syntax("digits expected in the exponent") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        let representable = isInteger ? Int64(text) != nil : (Double(text)?.isFinite ?? false)
        guard representable else {
            throw Failure(
                message: isInteger ? "integer outside the 64-bit range" : "number outside the double range",
                path: path.isEmpty ? "$" : path, isSyntax: false)
        }
        return text
    }
}
