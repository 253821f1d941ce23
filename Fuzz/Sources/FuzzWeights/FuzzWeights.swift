// One fuzz input is one weights file's bytes. It goes the way a user's file goes: format detection,
// the safetensors or zip + pickle parser, then the checkpoint loader against M0's tensor spec and
// every tensor decoded. Any outcome but a typed EngineError — a crash, a trap, an out-of-bounds
// read (AddressSanitizer), a hang or a huge allocation (libFuzzer's -timeout and -rss_limit_mb) —
// is a finding.
import Foundation
import FuzzSupport
import ViTEngine

nonisolated(unsafe) let model = try! ModelRegistry.model(named: "m0")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWeights(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do {
        let file = try WeightsFile.open(data: data, path: "fuzz")
        for name in file.names {
            _ = file.shape(name)
            _ = try? file.floats(name)
        }
        _ = Model.modelFitting(file)
        try Model.validateWeights(file, for: model)
    } catch {
        // A typed refusal is the expected outcome for almost every input.
    }
    return 0
}

@_cdecl("FuzzWeights_main")
func fuzzWeightsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { start, size in fuzzWeights(start, size) }
}
