import Foundation
import TestSupport

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

/// A loopback port nothing listens on: bind port 0, read what the kernel chose, release it.
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(descriptor, raw, length) == 0, getsockname(descriptor, raw, &length) == 0 else {
                throw CocoaError(.fileNoSuchFile)
            }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A loopback socket bound to a port of the kernel's choosing and listening: the port is busy
/// until the descriptor is closed.
func listeningSocket() throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(descriptor, raw, length) == 0 && listen(descriptor, 1) == 0 && getsockname(descriptor, raw, &length) == 0
        }
    }
    guard bound else {
        close(descriptor)
        throw POSIXError(.EADDRINUSE)
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}
