import Foundation
import ViTEngine
@testable import ViTImages

/// `Fixtures/manifest.json`, written by scripts/make_image_fixtures.py (PIL + timm).
struct ImageManifest: Decodable {
    struct Image: Decodable {
        var file: String
        var pilMode: String
        var width: Int
        var height: Int
        /// FNV-1a 64 of PIL's `convert("RGB")` bytes.
        var rgbFNV1a64: String
        /// PIL + timm's Resize + CenterCrop result (8-bit RGB PNG) and the hash of its RGB bytes.
        var crop: String
        var cropFNV1a64: String

        enum CodingKeys: String, CodingKey {
            case file, pilMode = "pil_mode", width, height, rgbFNV1a64 = "rgb_fnv1a64", crop, cropFNV1a64 = "crop_fnv1a64"
        }
    }

    struct EndToEnd: Decodable {
        var weights: String
        var photos: [String]
        var logits: String
        var top5: [[Int]]
    }

    struct ReferenceTensor: Decodable {
        var image: String
        var file: String
    }

    var model: String
    var images: [Image]
    var endToEnd: EndToEnd
    var referenceTensor: ReferenceTensor

    enum CodingKeys: String, CodingKey {
        case model, images, endToEnd = "end_to_end", referenceTensor = "reference_tensor"
    }
}

enum ImageFixtures {
    static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    static let manifest: ImageManifest = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode(ImageManifest.self, from: data)
    }()

    /// The engine-core fixture weights (random, float16), shared with ViTEngineTests.
    static var weightsPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ViTEngineTests/Fixtures/pth/m0_cream_f16.pth").path
    }

    /// FNV-1a 64, as scripts/make_image_fixtures.py computes it, in lowercase hex.
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// A scratch directory; the caller removes it.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vit-image-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
