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
        // Run-time choice of OpenBLAS kernels and CPU feature checks (small C: cpuid, weak symbols).
        .target(
            name: "CEngineSupport",
            dependencies: ["COpenBLAS"]
        ),
        // Vectorized inner loops (depthwise conv, epilogues, softmax), one binary for every x86-64.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(
            name: "ViTEngine",
            dependencies: ["COpenBLAS", "CEngineSupport", "CKernels"]
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
