/// Bits of a scalar's class, as the patterns see it. `\s` is the Unicode White_Space property,
/// `\p{L}` and `\p{N}` the general-category groups, as in Rust's regex-syntax.
enum ScalarClass {
    static let letter: UInt8 = 1  // \p{L}
    static let number: UInt8 = 2  // \p{N}
    static let space: UInt8 = 4  // \s (White_Space)
    static let upper: UInt8 = 8  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    static let lower: UInt8 = 16  // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    static let newline: UInt8 = 32  // [\r\n]
    /// Classes excluded from `[^\r\n\p{L}\p{N}]`, the optional leading character.
    static let notPrefix: UInt8 = letter | number | newline
    /// Classes excluded from `[^\s\p{L}\p{N}]`, "punctuation" (which includes marks and symbols).
    static let notPunctuation: UInt8 = letter | number | space

    /// The class of one scalar from the generated table of UCD 16.0.0 (`ScalarClass+UCD.swift`):
    /// the Unicode version of regex-syntax 0.8 in tiktoken 0.14, not the standard library's
    /// (17.0 in Swift 6.3, where 4,644 of the 4,803 scalars new in 17.0 are letters, and U+0295
    /// turned from Ll to Lo; to tiktoken they are unassigned, and Ll).
    static func compute(_ value: UInt32) -> UInt8 {
        segments.withUnsafeBufferPointer { segments in
            // The last segment whose start is <= value.
            var low = 0
            var high = segments.count
            while high - low > 1 {
                let middle = (low + high) / 2
                if segments[middle] >> 8 <= value { low = middle } else { high = middle }
            }
            return UInt8(truncatingIfNeeded: segments[low])
        }
    }

    /// The same class from the standard library's Unicode tables, for tests comparing the two.
    static func fromStandardLibrary(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let properties = scalar.properties
        var result: UInt8 = properties.isWhitespace ? space : 0
        switch properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: result |= letter | upper
        case .lowercaseLetter: result |= letter | lower
        case .modifierLetter, .otherLetter: result |= letter | upper | lower
        case .nonspacingMark, .spacingMark, .enclosingMark: result |= upper | lower
        case .decimalNumber, .letterNumber, .otherNumber: result |= number
        default: break
        }
        if value == 0x0A || value == 0x0D { result |= newline }
        return result
    }

    /// Scalars below this value are looked up in `table`; the rest (planes 2 and up: rare CJK
    /// extensions, private use) by binary search in `segments`.
    static let tableLimit: UInt32 = 0x2_0000

    /// Classes of U+0000 ..< U+20000, expanded from `segments` once per process and never freed.
    nonisolated(unsafe) static let table: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(tableLimit))
        for (index, segment) in segments.enumerated() {
            let start = segment >> 8
            guard start < tableLimit else { break }
            let end = index + 1 < segments.count ? min(segments[index + 1] >> 8, tableLimit) : tableLimit
            (table + Int(start)).initialize(repeating: UInt8(truncatingIfNeeded: segment), count: Int(end - start))
        }
        return UnsafePointer(table)
    }()
}
