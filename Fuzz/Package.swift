// swift-tools-version:6.1
// Coverage-guided fuzzing (libFuzzer, built into the Swift toolchain on Linux) of the weight-file
// parsers (safetensors, the PyTorch zip + pickle reader, format detection and the loader behind
// them; the safetensors parser and the pickle machine also alone), the image decoders (JPEG through libjpeg-turbo, PNG through libpng, then
// preprocessing), `vit serve`'s upload parsing (Content-Type, multipart/form-data) and `.npy`. A package of its own, because a fuzz target has no `main` (libFuzzer supplies it) and is
// built with -parse-as-library and the fuzzer and address sanitizers: scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "Fuzz",
    dependencies: [
        .package(name: "ViTEngine", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
    ],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzWeights",
            dependencies: ["FuzzSupport", .product(name: "ViTEngine", package: "ViTEngine")]
        ),
        .executableTarget(
            name: "FuzzImages",
            dependencies: [
                "FuzzSupport",
                .product(name: "ViTEngine", package: "ViTEngine"),
                .product(name: "ViTImages", package: "ViTEngine"),
            ]
        ),
        .executableTarget(
            name: "FuzzMultipart",
            dependencies: [
                "FuzzSupport",
                .product(name: "ViTServer", package: "ViTEngine"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzPickle",
            dependencies: ["FuzzSupport", .product(name: "ViTEngine", package: "ViTEngine")]
        ),
        .executableTarget(
            name: "FuzzSafeTensors",
            dependencies: ["FuzzSupport", .product(name: "ViTEngine", package: "ViTEngine")]
        ),
        .executableTarget(
            name: "FuzzNPY",
            dependencies: ["FuzzSupport", .product(name: "ViTEngine", package: "ViTEngine")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
