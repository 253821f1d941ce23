// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ViTEngine",
    products: [
        .library(name: "ViTEngine", targets: ["ViTEngine"]),
        .library(name: "ViTImages", targets: ["ViTImages"]),
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
            dependencies: ["COpenBLAS", "CKernels"]
        ),
        // Vectorized inner loops (depthwise conv, epilogues, softmax, LayerNorm), one binary for
        // every x86-64. libmvec (glibc's vector math) supplies the AVX-512 erff/expf.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
            linkerSettings: [.linkedLibrary("mvec")]
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
            providers: [.apt(["libjpeg62-turbo-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
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
        // Pretrained-weight download and cache (URLSession; kept out of the engine so that
        // inference-only users do not link networking).
        .target(
            name: "ViTHub",
            dependencies: ["ViTEngine"]
        ),
        // The efficiency report: measurements, Pareto fronts, CSV/JSON tables and SVG/HTML plots
        // (a small hand-written SVG writer), kept out of the CLI so the pieces are testable.
        .target(
            name: "ViTReport",
            dependencies: ["ViTEngine"]
        ),
        .executableTarget(
            name: "VitCLI",
            dependencies: [
                "ViTEngine",
                "ViTHub",
                "ViTImages",
                "ViTReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
    ],
    swiftLanguageModes: [.v6]
)
