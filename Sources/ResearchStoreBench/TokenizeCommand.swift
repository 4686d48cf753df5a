import ArgumentParser
import Tokenizer

extension TokenEncoding: ExpressibleByArgument {}

/// `research-store-bench tokenize`: see `TokenizeBench`. Run by `scripts/bench --tokenizer`
/// (through `scripts/bench-tokenizer.py`, which writes the texts and times tiktoken beside it).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Measure the Tokenizer module's encode and count throughput on a file of texts.")

    @Option(help: "o200k_base or cl100k_base.")
    var encoding: TokenEncoding = .o200kBase

    @Option(help: "A TOKTEXT1 file (scripts/bench-tokenizer.py writes one).")
    var texts: String

    @Option(help: "Run repetitions until at least this many seconds have passed (at least 3 repetitions).")
    var seconds: Double = 3

    func run() throws {
        try TokenizeBench.run(encoding: encoding, textsPath: texts, repetitions: 3, minimumSeconds: seconds)
    }
}
