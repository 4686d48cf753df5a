// The split patterns of tiktoken (`tiktoken_ext/openai_public.py`), as hand-written scanners
// over valid UTF-8 with Unicode scalar semantics. tiktoken runs them with fancy-regex:
// leftmost-first alternation with backtracking, so each scanner below tries the alternatives in
// the pattern's order and reproduces what backtracking would settle on.
//
// cl100k_base:
//   '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
//   |\s++$|\s*[\r\n]|\s+(?!\S)|\s
// o200k_base (the seven alternatives joined with |):
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//   \p{N}{1,3}
//    ?[^\s\p{L}\p{N}]+[\r\n/]*
//   \s*[\r\n]+
//   \s+(?!\S)
//   \s+

/// A cursor over valid UTF-8 that yields the piece boundaries of one encoding's split pattern.
struct PreTokenizer {
    let bytes: UnsafePointer<UInt8>
    let count: Int
    let classes: UnsafePointer<UInt8>

    /// The class and encoded length of the scalar starting at `i` (`i < count`).
    @inline(__always)
    func scalar(at i: Int) -> (cls: UInt8, length: Int) {
        let b0 = bytes[i]
        if b0 < 0x80 { return (classes[Int(b0)], 1) }
        var value: UInt32
        let length: Int
        if b0 < 0xE0 {
            value = UInt32(b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
            length = 2
        } else if b0 < 0xF0 {
            value = UInt32(b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
            length = 3
        } else {
            value = UInt32(b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
            value |= UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F)
            length = 4
        }
        let cls = value < ScalarClass.tableLimit ? classes[Int(value)] : ScalarClass.compute(value)
        return (cls, length)
    }

    /// The class at `i`, or 0 ("punctuation") past the end; callers check `i < count` where
    /// the difference matters.
    @inline(__always)
    func classAt(_ i: Int) -> UInt8 {
        i < count ? scalar(at: i).cls : 0
    }

    /// The end of the longest run starting at `i` of scalars having any bit of `mask`.
    @inline(__always)
    func runEnd(from start: Int, anyOf mask: UInt8) -> Int {
        var i = start
        while i < count {
            let (cls, length) = scalar(at: i)
            if cls & mask == 0 { break }
            i += length
        }
        return i
    }

    /// The end of a case-insensitive contraction `'s 't 're 've 'm 'll 'd` at `i`, or nil.
    /// Rust's case-insensitive matching uses simple case folding, under which `s` also matches
    /// U+017F LATIN SMALL LETTER LONG S.
    @inline(__always)
    func contractionEnd(at i: Int) -> Int? {
        guard i + 1 < count, bytes[i] == 0x27 else { return nil }
        let c1 = bytes[i + 1] | 0x20  // ASCII lower case; non-letters never collide below
        switch c1 {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return bytes[i + 1] < 0x80 ? i + 2 : nil
        case UInt8(ascii: "l"), UInt8(ascii: "v"), UInt8(ascii: "r"):
            guard bytes[i + 1] < 0x80, i + 2 < count else { return nil }
            let c2 = bytes[i + 2] | 0x20
            let expected = c1 == UInt8(ascii: "l") ? UInt8(ascii: "l") : UInt8(ascii: "e")
            return c2 == expected ? i + 3 : nil
        default:
            // ſ (U+017F) is C5 BF.
            if bytes[i + 1] == 0xC5, i + 2 < count, bytes[i + 2] == 0xBF { return i + 3 }
            return nil
        }
    }

    /// The whitespace run at `start`: its end, the start of its last scalar, and the position
    /// just past its last `\r` or `\n` (or nil when it has none).
    @inline(__always)
    func whitespaceRun(from start: Int) -> (end: Int, lastStart: Int, afterLastNewline: Int?) {
        var i = start
        var lastStart = start
        var afterLastNewline: Int? = nil
        while i < count {
            let (cls, length) = scalar(at: i)
            if cls & ScalarClass.space == 0 { break }
            lastStart = i
            i += length
            if cls & ScalarClass.newline != 0 { afterLastNewline = i }
        }
        return (i, lastStart, afterLastNewline)
    }

    /// Up to three `\p{N}` scalars from `start` (the first one known to be a number).
    @inline(__always)
    func digitsEnd(from start: Int, firstLength: Int) -> Int {
        var i = start + firstLength
        for _ in 0..<2 {
            guard i < count else { break }
            let (cls, length) = scalar(at: i)
            if cls & ScalarClass.number == 0 { break }
            i += length
        }
        return i
    }

    // MARK: cl100k_base

    /// The end of the cl100k_base piece starting at `start` (`start < count`).
    func cl100kPieceEnd(from start: Int) -> Int {
        let (c0, l0) = scalar(at: start)
        // '(?i:[sdmt]|ll|ve|re)
        if bytes[start] == 0x27, let end = contractionEnd(at: start) { return end }
        // [^\r\n\p{L}\p{N}]?+\p{L}++
        if c0 & ScalarClass.letter != 0 { return runEnd(from: start + l0, anyOf: ScalarClass.letter) }
        if c0 & ScalarClass.notPrefix == 0, start + l0 < count {
            let (c1, l1) = scalar(at: start + l0)
            if c1 & ScalarClass.letter != 0 {
                return runEnd(from: start + l0 + l1, anyOf: ScalarClass.letter)
            }
        }
        // \p{N}{1,3}+
        if c0 & ScalarClass.number != 0 { return digitsEnd(from: start, firstLength: l0) }
        //  ?[^\s\p{L}\p{N}]++[\r\n]*+
        if let end = punctuationEnd(from: start, c0: c0, trailingSlash: false) { return end }
        // Only whitespace is left: \s++$ | \s*[\r\n] | \s+(?!\S) | \s
        let run = whitespaceRun(from: start)
        if run.end == count { return count }
        if let end = run.afterLastNewline { return end }
        if run.lastStart > start { return run.lastStart }
        return start + l0
    }

    // MARK: o200k_base

    /// `[^\r\n\p{L}\p{N}]?` then `U*W+` (`upperFirst` false) or `U+W*` (`upperFirst` true), then
    /// an optional contraction, where U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and
    /// W = [\p{Ll}\p{Lm}\p{Lo}\p{M}]: the end of the match backtracking would find, or nil.
    @inline(__always)
    func o200kWordEnd(from start: Int, c0: UInt8, l0: Int, upperFirst: Bool) -> Int? {
        // With the optional leading scalar taken first, then without it (only a mark can be
        // both that scalar and part of the word).
        if c0 & ScalarClass.notPrefix == 0, let end = o200kWordBody(from: start + l0, upperFirst: upperFirst) {
            return end
        }
        if c0 & (ScalarClass.upper | ScalarClass.lower) != 0 {
            return o200kWordBody(from: start, upperFirst: upperFirst)
        }
        return nil
    }

    @inline(__always)
    func o200kWordBody(from start: Int, upperFirst: Bool) -> Int? {
        var i = start
        var wordEnd: Int
        if upperFirst {
            // U+ W*: both greedy, nothing after them can fail.
            var sawUpper = false
            while i < count {
                let (cls, length) = scalar(at: i)
                if cls & ScalarClass.upper == 0 { break }
                sawUpper = true
                i += length
            }
            guard sawUpper else { return nil }
            wordEnd = runEnd(from: i, anyOf: ScalarClass.lower)
        } else {
            // U* W+: U* greedy, giving back until W+ can start: W+ starts at the last position
            // in [start, end of U*] whose scalar is in W.
            var lastLowerStart = -1
            var lastLowerEnd = -1
            while i < count {
                let (cls, length) = scalar(at: i)
                if cls & ScalarClass.upper == 0 {
                    if cls & ScalarClass.lower != 0 {
                        lastLowerStart = i
                        lastLowerEnd = i + length
                    }
                    break
                }
                if cls & ScalarClass.lower != 0 {
                    lastLowerStart = i
                    lastLowerEnd = i + length
                }
                i += length
            }
            guard lastLowerStart >= 0 else { return nil }
            // If W+ starts at the end of U*, it runs on greedily; if it starts inside U*, the
            // scalars after it in U* are not in W, so it ends after that one scalar.
            wordEnd = lastLowerStart == i ? runEnd(from: lastLowerEnd, anyOf: ScalarClass.lower) : lastLowerEnd
        }
        if wordEnd < count, bytes[wordEnd] == 0x27, let end = contractionEnd(at: wordEnd) { return end }
        return wordEnd
    }

    /// The end of the o200k_base piece starting at `start` (`start < count`).
    /// ` ?[^\s\p{L}\p{N}]+` then line breaks (and, for o200k_base, slashes): the end of that
    /// alternative at `start`, or nil where it does not match. Both patterns share it but for the tail.
    func punctuationEnd(from start: Int, c0: UInt8, trailingSlash: Bool) -> Int? {
        var i: Int
        if c0 & ScalarClass.notPunctuation == 0 {
            i = start
        } else if bytes[start] == 0x20, start + 1 < count, classAt(start + 1) & ScalarClass.notPunctuation == 0 {
            i = start + 1
        } else {
            return nil
        }
        while i < count {
            let (cls, length) = scalar(at: i)
            if cls & ScalarClass.notPunctuation != 0 { break }
            i += length
        }
        while i < count, bytes[i] == 0x0D || bytes[i] == 0x0A || (trailingSlash && bytes[i] == 0x2F) { i += 1 }
        return i
    }

    func o200kPieceEnd(from start: Int) -> Int {
        let (c0, l0) = scalar(at: start)
        if c0 & ScalarClass.number == 0 && c0 & ScalarClass.newline == 0 {
            if let end = o200kWordEnd(from: start, c0: c0, l0: l0, upperFirst: false) { return end }
            if let end = o200kWordEnd(from: start, c0: c0, l0: l0, upperFirst: true) { return end }
        }
        // \p{N}{1,3}
        if c0 & ScalarClass.number != 0 { return digitsEnd(from: start, firstLength: l0) }
        //  ?[^\s\p{L}\p{N}]+[\r\n/]*
        if let end = punctuationEnd(from: start, c0: c0, trailingSlash: true) { return end }
        // Only whitespace is left: \s*[\r\n]+ | \s+(?!\S) | \s+
        let run = whitespaceRun(from: start)
        if let end = run.afterLastNewline { return end }
        if run.end == count { return count }
        if run.lastStart > start { return run.lastStart }
        return run.end
    }
}
