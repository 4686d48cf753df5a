// Entry point of `research-store-bench`; see `BenchCommand` for what it measures.

/// Runs the command. Called from an async function, because in top-level code a bare
/// `BenchCommand.main()` resolves to ArgumentParser's synchronous overload.
func runBenchCommand() async {
    await BenchCommand.main()
}

await runBenchCommand()
