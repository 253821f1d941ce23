// One fuzz input is an upload as `vit serve` receives it: a first line holding the Content-Type
// header's value, then the request body. It goes the way a request body goes: the Content-Type's
// parameters, the multipart/form-data parser, the choice of the image part, the checks that the
// body ended and is not empty. Any outcome but a typed APIError — a crash, a trap, an
// out-of-bounds access (AddressSanitizer), a hang or a huge allocation — is a finding.
import Foundation
import FuzzSupport
import NIOCore
@testable import ViTServer  // a debug build, as scripts/fuzz.sh makes, is built for testing

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? count
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = ByteBuffer(bytes: bytes[min(newline + 1, count)...])
    do {
        let image = try RequestImage.parse(body, contentType: contentType)
        precondition(!image.data.isEmpty, "an empty image was accepted")
    } catch {
        // A typed refusal is the expected outcome for most inputs.
    }
    return 0
}

@_cdecl("FuzzMultipart_main")
func fuzzMultipartMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { start, size in fuzzMultipart(start, size) }
}
