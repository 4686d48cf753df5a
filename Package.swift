// swift-tools-version:6.1
import PackageDescription

/// The layers, from the bottom up:
/// `CLibPQ` (C headers), `CSystemEvents` (epoll) → `Postgres` (libpq wrapper) → `PostgresPool` (bounded pool)
/// → `ResearchStore` (service layer) → `ResearchStoreHTTP` (Hummingbird) → `research-store`.
/// `Tokenizer` (tiktoken-compatible BPE, standard library only) stands apart; the service layer counts with it.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// The server's release link: lld with packed relative relocations (a PIE whose start-up no longer
/// touches megabytes of relocation records; needs glibc 2.36, as Debian 12) and no symbol table
/// exported for dynamic lookup, which the loader would otherwise page in. Together they took the
/// idle RSS from 44 to 34 MiB (README, "Memory").
let releaseLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
        .when(configuration: .release))
]

// Every target lists every module its sources import.
let package = Package(
    name: "research-store",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "research-store", targets: ["ResearchStoreCLI"]),
        .executable(name: "research-store-bench", targets: ["ResearchStoreBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // No default traits: "FullFoundation" links Foundation's ICU (tens of MB of code and data) for
        // date formats of URL-encoded forms we do not use, "ConfigurationSupport" a second config system.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // Already in the graph through jwt-kit; named here because cursors are signed with its HMAC.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // Already in the graph through Hummingbird; named because the HTTP layer imports HTTPTypes.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // SQLite 3 from the system (Debian libsqlite3-dev), read by the importers only.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // A small read-only SQLite wrapper: open, prepare, step, read columns. The only SQLite code.
        .target(name: "SQLite", dependencies: ["CSQLite"], swiftSettings: swiftSettings),
        // Plain-int wrappers of Linux epoll for the wrapper's readiness loop.
        .target(name: "CSystemEvents"),
        // tiktoken's o200k_base and cl100k_base in Swift: no dependencies, no Foundation. The
        // vocabularies are read at run time from Vocabularies/ (or an installed copy), not
        // compiled in.
        .target(
            name: "Tokenizer",
            exclude: ["Vocabularies", "LICENSE-Unicode"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                "CSystemEvents",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PostgresPool",
            dependencies: [
                "Postgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ResearchStore",
            dependencies: [
                "Postgres",
                "PostgresPool",
                "Tokenizer",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ResearchStoreHTTP",
            dependencies: [
                "ResearchStore",
                "PostgresPool",
                "Postgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // `research-store import`: readers of other stores' data, and a COPY writer into ours.
        .target(
            name: "Importers",
            dependencies: [
                "SQLite",
                "Postgres",
                "ResearchStore",
                "Tokenizer",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ResearchStoreCLI",
            dependencies: [
                "Importers",
                "ResearchStoreHTTP",
                "ResearchStore",
                "Tokenizer",
                "PostgresPool",
                "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinkerSettings
        ),
        .executableTarget(
            name: "ResearchStoreBench",
            dependencies: [
                "CLibPQ",
                "Postgres",
                "PostgresPool",
                "Tokenizer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PostgresPoolTests",
            dependencies: [
                "PostgresPool", "Postgres", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ResearchStoreHTTPTests",
            dependencies: [
                "ResearchStoreHTTP", "ResearchStore", "PostgresPool", "Postgres", "TestSupport", "Tokenizer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ResearchStoreTests", dependencies: ["ResearchStore"], swiftSettings: swiftSettings),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "MigrationTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: swiftSettings),
    ]
)
