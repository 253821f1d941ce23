// One fuzz input is one uploaded image's bytes, as `vit serve` and `vit classify` receive them:
// decoded (JPEG or PNG, under a pixel limit) and preprocessed for M0. Any outcome but a typed
// ImageError — a crash, an out-of-bounds access (AddressSanitizer), a hang or a huge allocation
// (libFuzzer's -timeout and -rss_limit_mb) — is a finding.
import Foundation
import FuzzSupport
import ViTEngine
import ViTImages

nonisolated(unsafe) let preprocessor = try! ImagePreprocessor(model: ModelRegistry.model(named: "m0"))
let decoder = ImageDecoder(maximumPixels: 1 << 18)  // 256K pixels: every path, affordable millions of times

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImages(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do {
        let image = try decoder.decode(data: data, path: "fuzz")
        _ = preprocessor.tensor(for: [image])
    } catch {
        // A typed refusal is the expected outcome for almost every input.
    }
    return 0
}

@_cdecl("FuzzImages_main")
func fuzzImagesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { start, size in fuzzImages(start, size) }
}
