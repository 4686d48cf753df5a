import Foundation
import Postgres
import TestSupport
import Testing

/// The export streams: the server process, run as an operator runs it, exports a user whose
/// messages are far larger than the memory it is allowed to gain while doing so.
@Suite("Export memory")
struct ExportMemoryTests {
    static let messages = 20_000
    /// Content per message (an md5 hex repeated): 20,000 × 4 KiB = 80 MiB of content.
    static let contentBytes = 4096

    @Test("exporting 80 MiB of messages raises the server's peak memory by far less than the document's size")
    func exportIsStreamed() async throws {
        let user = "mem-\(UUID().uuidString.prefix(8).lowercased())"
        try await seedUser(user, messages: Self.messages, contentBytes: Self.contentBytes)
        let port = try freePort()
        let server = try launchServer(port: port, environment: ["DATABASE_URL": try TestDatabase.url(), "LOG_LEVEL": "warning"])
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        let ready = try await waitUntil(every: .milliseconds(100)) {
            (try? await curl(["-o", "/dev/null", "-w", "%{http_code}", "\(base)/readyz"])) == "200"
        }
        #expect(ready, "the server did not become ready")

        // Warm up the export path with a small user, then measure from the current footprint.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(user).json").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let small = try await curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "X-User-ID: \(user)", "\(base)/db/users/\(user)"])
        #expect(small == "200")
        let pid = server.processIdentifier
        try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)  // resets the peak (VmHWM)
        let before = try memoryKiB(pid: pid, field: "VmRSS")
        let status = try await curl(["-o", output, "-w", "%{http_code}", "-H", "X-User-ID: \(user)", "\(base)/db/users/\(user)/export"])
        let peak = try memoryKiB(pid: pid, field: "VmHWM")
        #expect(status == "200")

        let size = try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int ?? 0
        let growth = peak - before
        print("export: \(size / 1024) KiB sent; server RSS \(before) KiB before, peak \(peak) KiB (+\(growth) KiB)")
        #expect(size > Self.messages * Self.contentBytes)
        #expect(growth * 1024 < size / 4, "peak grew by \(growth) KiB for a \(size / 1024) KiB document")

        // Complete and in order.
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        let sessions = try #require(document["sessions"] as? [[String: Any]])
        let messages = try #require(sessions.first?["messages"] as? [[String: Any]])
        #expect(messages.count == Self.messages)
        #expect(messages.compactMap { $0["seq"] as? Int } == Array(1...Self.messages))
        #expect(messages.allSatisfy { ($0["content"] as? String)?.utf8.count == Self.contentBytes })

        _ = try await TestDatabase.withConnection { connection in try await connection.query("DELETE FROM users WHERE id = \(user)") }
    }

    /// Runs curl quietly and returns what it printed, waiting on a thread of its own.
    func curl(_ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try curlBlocking(arguments) }) }.start()
        }
    }

    func curlBlocking(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "300"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

}
