import Foundation
import XCTest
@testable import ViTEngine

/// Bounded random-mutation fuzzing of the weight readers (`.pth` container, its pickle, and
/// safetensors): with a fixed seed, every mutant must open and read to completion or fail with an
/// ``EngineError`` — a crash, trap or hang would take the test process down.
final class WeightsFuzzTests: XCTestCase {
    /// SplitMix64: a fixed seed gives the same mutants on every run and platform.
    private struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    private static let iterationsPerTarget = 10000
    private static let interesting: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF]

    private func mutate(_ input: Data, _ rng: inout Generator) -> Data {
        var bytes = [UInt8](input)
        for _ in 0...rng.below(4) {
            guard !bytes.isEmpty else { bytes = [UInt8(truncatingIfNeeded: rng.next())]; continue }
            let at = rng.below(bytes.count)
            switch rng.below(6) {
            case 0: bytes[at] ^= UInt8(1 << rng.below(8))                              // bit flip
            case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())                  // random byte
            case 2:                                                                    // interesting integer
                let value = Self.interesting[rng.below(Self.interesting.count)]
                let width = [1, 2, 4, 8][rng.below(4)]
                for i in 0..<min(width, bytes.count - at) { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            case 3: bytes.removeSubrange(at..<min(bytes.count, at + 1 + rng.below(16)))  // delete
            case 4: bytes.insert(contentsOf: (0...rng.below(8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            default: bytes.removeSubrange(rng.below(bytes.count)...)                   // truncate
            }
        }
        return Data(bytes)
    }

    /// Opens the mutant with format detection and reads every tensor; returns whether it opened.
    @discardableResult
    private func exercise(_ data: Data) -> Bool {
        do {
            let source = try WeightsFile.open(data: data, path: "fuzz")
            for name in source.names {
                _ = source.shape(name)
                _ = source.dtype(name)
                _ = try? source.floats(name)
            }
            return true
        } catch {
            return false  // typed: WeightsFile.open throws EngineError only
        }
    }

    private func seed(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))) }

    /// The members of a stored zip, so a mutated pickle can be re-wrapped in a valid container
    /// (otherwise the CRC check would reject almost every pickle mutant before it is parsed).
    private func members(_ archive: Data) throws -> [(name: String, data: Data)] {
        let zip = try ZipArchive(data: archive, path: "seed")
        return try zip.entries.map { ($0.name, try zip.contents(of: $0)) }
    }

    func testMutatedWeightFilesOnlyFailWithTypedErrors() throws {
        let start = Date()
        var rng = Generator(state: 0x5EED_0F_F022)
        let safetensors = try SafeTensorsWriter.encode([("a.weight", [2, 3], [1, 2, 3, 4, 5, 6]), ("b", [], [7])], dtype: "F16",
                                                        metadata: ["k": "v"])
        let containers = [try seed("pth/tiny_timm.pth"), try seed("pth/tiny_timm_zip64.pth"), try seed("pth/evil_os_system.pth")]
        let pickled = try containers.map { try members($0) }
        var executions = 0, opened = 0

        for _ in 0..<Self.iterationsPerTarget {
            // 1. The zip container itself.
            if exercise(mutate(containers[rng.below(containers.count)], &rng)) { opened += 1 }
            // 2. The pickle, inside a valid container with the original storages.
            var parts = pickled[rng.below(pickled.count)]
            if let index = parts.firstIndex(where: { $0.name.hasSuffix("/data.pkl") }) {
                parts[index].data = mutate(parts[index].data, &rng)
            }
            if exercise(ZipArchiveTestWriter.archive(parts)) { opened += 1 }
            // 3. safetensors.
            if exercise(mutate(safetensors, &rng)) { opened += 1 }
            executions += 3
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz: \(executions) executions, \(opened) mutants opened, 0 crashes, \(String(format: "%.1f", seconds)) s")
        XCTAssertEqual(executions, 3 * Self.iterationsPerTarget)
        XCTAssertGreaterThan(opened, 0, "some mutants should still parse, or the mutations only test the first check")
        XCTAssertLessThan(opened, executions, "most mutants must be rejected")
    }
}
