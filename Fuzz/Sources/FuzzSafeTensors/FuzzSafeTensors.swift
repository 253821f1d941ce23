// One fuzz input is a safetensors file's bytes, read by the safetensors parser alone (the header
// length, the strict JSON header, dtypes, shapes, data offsets, overlaps and holes), then every
// tensor decoded. FuzzWeights reaches the same parser only through format detection and the
// loader, which refuses most inputs earlier; this target spends every input on the parser. Any
// outcome but a typed EngineError is a finding.
import Foundation
import FuzzSupport
import ViTEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do {
        let file = try SafeTensorsFile(data: data, path: "fuzz")
        for name in file.names {
            _ = file.shape(name)
            _ = try? file.floats(name)
        }
    } catch {
        // A typed refusal is the expected outcome for most inputs.
    }
    return 0
}

@_cdecl("FuzzSafeTensors_main")
func fuzzSafeTensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { start, size in fuzzSafeTensors(start, size) }
}
