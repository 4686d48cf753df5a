// swift-tools-version:6.0
// The comparison service of `scripts/bench --baseline`: Hummingbird 2 + PostgresNIO, a measuring stick
// only. A package of its own so that CI (which builds the repository's Package.swift) never builds it;
// scripts/bench builds it (release, --static-swift-stdlib, scratch path .build-baseline).
import PackageDescription

let package = Package(
    name: "research-store-baseline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "research-store-baseline", targets: ["ResearchStoreBaseline"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.4.0"),
    ],
    targets: [
        .executableTarget(
            name: "ResearchStoreBaseline",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
