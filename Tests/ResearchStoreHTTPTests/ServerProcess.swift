import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Starts `research-store serve` from the debug build as an operator would, on `port`, with
/// AUTH_MODE=none and no .env file unless `environment` says otherwise. The caller stops it.
func launchServer(port: Int, environment: [String: String], standardError: Any = FileHandle.nullDevice) throws -> Process {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: try TestDatabase.repositoryRoot() + "/.build/debug/research-store")
    server.arguments = ["serve"]
    server.environment = ["PATH": "/usr/bin:/bin", "ENV_FILE": "/dev/null", "AUTH_MODE": "none", "PORT": String(port)]
        .merging(environment) { _, given in given }
    server.standardOutput = FileHandle.nullDevice
    server.standardError = standardError
    try server.run()
    return server
}

/// True once the server on `port` answers `GET /readyz` with 200 (within 30 s).
func waitUntilReady(port: Int) async throws -> Bool {
    for _ in 0..<300 {
        if let (status, _) = try? await callOnOwnConnection(port: port, .get, "/readyz", as: "probe"), status == .ok { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return false
}

/// A program's exit status and its standard output and error, together.
struct ProgramOutput: Sendable {
    var status: Int32
    var text: String
}

/// Runs a program to its end, waiting on a thread of its own (never the cooperative pool's).
/// An empty `environment` inherits this process's.
func runToEnd(_ path: String, _ arguments: [String], environment: [String: String]) async throws -> ProgramOutput {
    try await onOwnThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment.isEmpty ? nil : environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProgramOutput(status: process.terminationStatus, text: String(decoding: data, as: UTF8.self))
    }
}

/// A loopback port nothing listens on: bind port 0, read what the kernel chose, release it.
func freePort() throws -> Int { try closedLoopbackPort() }

/// A loopback socket listening on a port of the kernel's choosing: the port is busy until the
/// descriptor is closed.
func listeningSocket() throws -> (descriptor: Int32, port: Int) { try loopbackSocket(listening: true) }

/// A figure of /proc/PID/status (`VmRSS`, `VmHWM`, `RssAnon`, …), in KiB.
func memoryKiB(pid: Int32, field: String) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(field + ":") })
    return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? ""))
}
