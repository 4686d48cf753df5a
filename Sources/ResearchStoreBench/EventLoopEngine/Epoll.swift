#if canImport(Glibc)
import Glibc

/// Linux epoll for the event-loop engine, reached through `dlsym`.
///
/// Swift's Glibc module does not import `<sys/epoll.h>`, and a C shim would be a new package
/// target for benchmark code; so the three functions are looked up once and called with the C
/// calling convention. `epoll_event` is read and written as raw bytes because glibc packs it on
/// x86_64 (12 bytes, an unaligned 64-bit `data`), a layout a Swift struct cannot express.
struct Epoll: @unchecked Sendable {
    // @unchecked Sendable: three immutable C function pointers into glibc, callable from any thread.
    static let input: UInt32 = 0x001  // EPOLLIN
    static let output: UInt32 = 0x004  // EPOLLOUT
    static let error: UInt32 = 0x008  // EPOLLERR
    static let hangUp: UInt32 = 0x010  // EPOLLHUP
    static let oneShot: UInt32 = 1 << 30  // EPOLLONESHOT
    static let controlAdd: Int32 = 1  // EPOLL_CTL_ADD
    static let controlModify: Int32 = 3  // EPOLL_CTL_MOD

    #if arch(x86_64)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    typealias Create = @convention(c) (Int32) -> Int32
    typealias Control = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias Wait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    let create: Create
    let control: Control
    let wait: Wait

    /// The glibc functions, or a failure naming the one that is missing.
    static func load() throws -> Epoll {
        guard let process = dlopen(nil, RTLD_NOW) else { throw BenchFailure("dlopen(NULL) failed") }
        func symbol<F>(_ name: String, as type: F.Type) throws -> F {
            guard let address = dlsym(process, name) else { throw BenchFailure("\(name) not found in libc") }
            return unsafeBitCast(address, to: F.self)
        }
        return Epoll(
            create: try symbol("epoll_create1", as: Create.self),
            control: try symbol("epoll_ctl", as: Control.self),
            wait: try symbol("epoll_wait", as: Wait.self))
    }

    /// Calls `epoll_ctl(epoll, operation, socket, {events, data})`; returns 0 or errno.
    func control(_ epoll: Int32, _ operation: Int32, socket: Int32, events: UInt32, data: UInt64) -> Int32 {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { buffer in
            let event = buffer.baseAddress!
            event.storeBytes(of: events, as: UInt32.self)
            event.storeBytes(of: data, toByteOffset: Self.dataOffset, as: UInt64.self)
            return control(epoll, operation, socket, event) == 0 ? 0 : errno
        }
    }

    /// The events and data of entry `index` of an `epoll_wait` buffer.
    static func event(at index: Int, in buffer: UnsafeMutableRawPointer) -> (events: UInt32, data: UInt64) {
        let event = UnsafeRawPointer(buffer + index * eventSize)
        return (event.loadUnaligned(as: UInt32.self), event.loadUnaligned(fromByteOffset: dataOffset, as: UInt64.self))
    }
}
#endif
