// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ViTEngine",
    products: [
        .library(name: "ViTEngine", targets: ["ViTEngine"]),
        .executable(name: "vit", targets: ["VitCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS (CBLAS interface) from Debian's libopenblas-dev, found through pkg-config.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "ViTEngine",
            dependencies: ["COpenBLAS"]
        ),
        .executableTarget(
            name: "VitCLI",
            dependencies: [
                "ViTEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "ViTEngineTests",
            dependencies: ["ViTEngine"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
