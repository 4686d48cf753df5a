extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks (what `trimmingCharacters(in:
    /// .whitespacesAndNewlines)` did, without linking full Foundation and its ICU for one call).
    package func trimmingWhitespace() -> Substring {
        let characters = self[...]
        guard let first = characters.firstIndex(where: { !$0.isWhitespace }),
            let last = characters.lastIndex(where: { !$0.isWhitespace })
        else { return Substring() }
        return Substring(characters[first...last])
    }
}
