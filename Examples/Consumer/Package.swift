// swift-tools-version:6.1
// A package of a user's own that depends on the engine by version, as any package would: the two
// programs the README shows (classify an image; the engine inside a Hummingbird app), built and
// run against a version tag by scripts/consumer.sh (which CI runs).
import PackageDescription

// The engine's git URL. A user's package names the repository's published URL here; this example
// defaults to the checkout it sits in (a local git repository, resolved by its version tags) and
// scripts/consumer.sh points VIT_ENGINE_URL at a scratch clone tagged with the version below.
let engineURL = Context.environment["VIT_ENGINE_URL"] ?? Context.packageDirectory + "/../.."

let package = Package(
    name: "Consumer",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: engineURL, from: "0.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        .executableTarget(
            name: "Classify",
            dependencies: [
                .product(name: "ViTEngine", package: "ViTEngine"),
                .product(name: "ViTImages", package: "ViTEngine"),
                .product(name: "ViTServing", package: "ViTEngine"),
                .product(name: "ViTHub", package: "ViTEngine"),
            ]
        ),
        .executableTarget(
            name: "EmbeddedServer",
            dependencies: [
                .product(name: "ViTEngine", package: "ViTEngine"),
                .product(name: "ViTServing", package: "ViTEngine"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
