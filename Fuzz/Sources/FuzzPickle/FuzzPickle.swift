// One fuzz input is the `data.pkl` of a torch.save file: the pickle program the unpickler runs.
// Mutated inside a real checkpoint, a pickle never reaches the unpickler (the zip's CRC-32 of the
// member fails first), so this target writes each input into a fresh archive, with a correct
// CRC, beside the data members of the tiny_timm.pth fixture; then the whole reader runs: the
// opcode machine, the allow-listed globals, persistent loads of storages, the state-dict walk
// and every tensor decoded. Any outcome but a typed EngineError is a finding.
import Foundation
import FuzzSupport
@testable import ViTEngine  // ZipArchive reads the fixture (scripts/fuzz.sh builds for testing)

/// The fixture's members other than its pickle, and the folder they sit in. Held as byte arrays:
/// LeakSanitizer does not follow the tagged references inside a `Data` held by a global.
nonisolated(unsafe) let fixture: (folder: String, members: [(name: String, bytes: [UInt8])]) = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../Tests/ViTEngineTests/Fixtures/pth/tiny_timm.pth").standardized.path
    let archive = try! ZipArchive(data: Data(contentsOf: URL(fileURLWithPath: path)), path: path)
    return ("tiny_timm", try! archive.entries.filter { !$0.name.hasSuffix("/data.pkl") }
        .map { ($0.name, [UInt8](try archive.contents(of: $0))) })
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let pickle = Data(bytes: start, count: count)
    let file = StoredZip.archive([(fixture.folder + "/data.pkl", pickle)] + fixture.members.map { ($0.name, Data($0.bytes)) },
                                 crc32: CRC32.checksum)
    do {
        let checkpoint = try TorchCheckpoint(data: file, path: "fuzz")
        for name in checkpoint.names { _ = try? checkpoint.floats(name) }
    } catch {
        // A typed refusal is the expected outcome for most inputs.
    }
    return 0
}

@_cdecl("FuzzPickle_main")
func fuzzPickleMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    // Read before the first input, so its allocations are not counted as that input's leaks.
    precondition(!fixture.members.isEmpty, "the tiny_timm.pth fixture has no data members")
    return runFuzzer(argc, argv) { start, size in fuzzPickle(start, size) }
}
