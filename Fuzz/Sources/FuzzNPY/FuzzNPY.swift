// One fuzz input is one `.npy` file's bytes, as `vit run --input` and the reference comparisons
// read it: magic, version, header length, the header dictionary (dtype, order, shape), then the
// data, decoded to float32. Any outcome but a typed EngineError — a crash, a trap, an
// out-of-bounds read (AddressSanitizer), a hang or a huge allocation — is a finding.
import Foundation
import FuzzSupport
import ViTEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do {
        let tensor = try NPY.read(data: data, path: "fuzz")
        precondition(tensor.values.count == tensor.shape.reduce(1, *), "a tensor's values do not fill its shape")
        _ = try NPY.encode(tensor)
    } catch {
        // A typed refusal is the expected outcome for most inputs.
    }
    return 0
}

@_cdecl("FuzzNPY_main")
func fuzzNPYMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { start, size in fuzzNPY(start, size) }
}
