// swift-tools-version:6.1
// Coverage-guided fuzzing (libFuzzer, built into the Swift toolchain on Linux) of the weight-file
// parsers (safetensors, the PyTorch zip + pickle reader, format detection and the loader behind
// them) and of the image decoders (JPEG through libjpeg-turbo, PNG through libpng, then
// preprocessing). A package of its own, because a fuzz target has no `main` (libFuzzer supplies it) and is
// built with -parse-as-library and the fuzzer and address sanitizers: scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "Fuzz",
    dependencies: [.package(name: "ViTEngine", path: "..")],
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
    ],
    swiftLanguageModes: [.v6]
)
