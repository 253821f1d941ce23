// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ViTEngine",
    products: [
        .library(name: "ViTEngine", targets: ["ViTEngine"]),
        .library(name: "ViTImages", targets: ["ViTImages"]),
        .library(name: "ViTServing", targets: ["ViTServing"]),
        .library(name: "ViTServer", targets: ["ViTServer"]),
        .library(name: "ViTHub", targets: ["ViTHub"]),
        .executable(name: "vit", targets: ["VitCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        // Hummingbird's default traits add swift-configuration (config-file support), unused here.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // NIOHTTPTypes: the request and response parts a server-side channel handler sees (as Hummingbird's).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        // `swift package generate-documentation` (scripts/docs.sh): DocC for every library product.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // OpenBLAS (CBLAS interface) from Debian's libopenblas-dev, found through pkg-config; on macOS
        // Homebrew's openblas (keg-only: its lib/pkgconfig on PKG_CONFIG_PATH), untested here.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        // Run-time choice of OpenBLAS kernels and CPU feature checks (small C: cpuid, weak symbols).
        .target(
            name: "CEngineSupport",
            dependencies: ["COpenBLAS", "CKernels"]
        ),
        // The kernels of every instruction-set tier (x86-64: AVX-512, AVX2, portable; AArch64:
        // NEON, portable), chosen at run time. On x86-64 the AVX tiers' erf is glibc's libmvec,
        // which x86-64 glibc's libm.so pulls in as needed (AArch64 glibc has none, and its tiers
        // do not use it), so linking libm is right on both. No unsafe flags (a package depended
        // on by version may not have them): SwiftPM's own -O2.
        .target(
            name: "CKernels",
            linkerSettings: [.linkedLibrary("m")]
        ),
        .target(
            name: "ViTEngine",
            dependencies: ["COpenBLAS", "CEngineSupport", "CKernels"]
        ),
        // JPEG and PNG decoding for the image front-end: libjpeg-turbo's libjpeg API and libpng,
        // from Debian's libjpeg62-turbo-dev and libpng-dev, found through pkg-config.
        .systemLibrary(
            name: "CJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg62-turbo-dev"]), .brew(["jpeg-turbo"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"]), .brew(["libpng"])]
        ),
        // The setjmp/longjmp error boundary around libjpeg and libpng (it cannot live in Swift).
        .target(
            name: "CImageDecoders",
            dependencies: ["CJPEG", "CPNG"]
        ),
        // Images → model input: decoding, PIL/timm-identical preprocessing, ImageNet labels.
        .target(
            name: "ViTImages",
            dependencies: ["ViTEngine", "CImageDecoders"]
        ),
        // HTTP(S) through libcurl loaded with dlopen at the first download (headers from
        // Debian's libcurl4-openssl-dev), so processes that never download do not map it.
        .target(name: "CDownload"),
        // Pretrained-weight download and cache (kept out of the engine so that inference-only
        // users do not link networking).
        .target(
            name: "ViTHub",
            dependencies: ["ViTEngine", "CDownload"]
        ),
        // The efficiency report: measurements, Pareto fronts, CSV/JSON tables and SVG/HTML plots
        // (a small hand-written SVG writer), kept out of the CLI so the pieces are testable.
        .target(
            name: "ViTReport",
            dependencies: ["ViTEngine"]
        ),
        // Serving from Swift code: one shared, Sendable service per model with dynamic batching
        // over pooled sessions (no HTTP; usable from Hummingbird, Vapor or any async code).
        .target(
            name: "ViTServing",
            dependencies: [
                "CEngineSupport",
                "ViTEngine",
                "ViTImages",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP front-end of `vit serve` (Hummingbird), beside the engine, not inside it.
        .target(
            name: "ViTServer",
            dependencies: [
                "ViTEngine",
                "ViTImages",
                "ViTServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "VitCLI",
            dependencies: [
                "ViTEngine",
                "ViTHub",
                "ViTImages",
                "ViTReport",
                "ViTServing",
                "ViTServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Linked by the toolchain's lld with packed relative relocations (DT_RELR, glibc ≥ 2.36):
            // the loader no longer writes 2.5 MB of relocation records into every `vit` process;
            // and without exporting every symbol of the static runtime (1 MB of symbol tables that
            // nothing looks up: vit loads no plugins). M5 batch-1 bench with --static-swift-stdlib:
            // peak RSS 78.7 → 76.1 → 74.6 MB.
            // Executable-only and ELF-only (SwiftPM allows unsafe flags in an executable, which no
            // package depends on); no library product has any.
            linkerSettings: [
                .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
                             .when(platforms: [.linux]))
            ]
        ),
        .testTarget(
            name: "ViTEngineTests",
            dependencies: ["ViTEngine", "ViTHub"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ViTReportTests",
            dependencies: ["ViTReport"]
        ),
        .testTarget(
            name: "ViTImagesTests",
            dependencies: ["ViTImages", "ViTEngine", "ViTHub"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ViTServerTests",
            dependencies: [
                "ViTEngine",
                "ViTImages",
                "ViTServing",
                "ViTServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
