import Foundation
import XCTest
@testable import ViTEngine

/// The pure-Swift `.pth` reader on files written by real `torch.save` (scripts/make_pth_fixtures.py).
final class TorchCheckpointTests: XCTestCase {
    private struct Expected: Decodable {
        var dtype: String
        var shape: [Int]
        var values: [Float]
    }

    private func pth(_ name: String) -> String { Fixtures.path("pth/" + name) }

    private func expected() throws -> [String: Expected] {
        let data = try Data(contentsOf: URL(fileURLWithPath: pth("tiny_timm.expected.json")))
        return try JSONDecoder().decode([String: Expected].self, from: data)
    }

    private func assertThrows<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
                                 _ check: (EngineError) -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? EngineError else { return XCTFail("not an EngineError: \(error)", file: file, line: line) }
            check(e)
        }
    }

    /// Every tensor of a bare timm-style state dict: parameters, a transposed view, slices with a
    /// storage offset sharing one storage, f16/bf16/f64 — values equal torch's, row-major.
    func testBareStateDictWithViewsAndDtypesMatchesTorch() throws {
        for file in ["tiny_timm.pth", "tiny_timm_zip64.pth"] {
            let checkpoint = try TorchCheckpoint(path: pth(file))
            let reference = try expected()
            XCTAssertEqual(checkpoint.names, reference.keys.sorted(), file)
            XCTAssertEqual(checkpoint.otherEntries, [])
            for (name, want) in reference {
                XCTAssertEqual(checkpoint.shape(name), want.shape, "\(file) \(name)")
                XCTAssertEqual(checkpoint.dtype(name), want.dtype, "\(file) \(name)")
                if want.dtype == "I64" {
                    XCTAssertEqual(try? checkpoint.floats(name), nil)
                    assertThrows(try checkpoint.floats(name)) { XCTAssertEqual($0, .unsupportedDType(tensor: name, dtype: "I64", path: self.pth(file))) }
                } else {
                    XCTAssertEqual(try checkpoint.floats(name), want.values, "\(file) \(name)")
                }
            }
        }
    }

    /// `proj.slice` is `shared[3:11].view(2, 4)` (storage offset 3) and `proj.strided` is
    /// `shared[::5]` (stride 5) of the same storage: elements 5 and 10 of that storage appear in both.
    /// The "Which Transformer to Favor" benchmark's checkpoints (its `.tar` files): the state dict
    /// under `model_state`, saved from a compiled DDP model; the ViT-family key map strips the
    /// wrappers' prefixes, as the benchmark's own loader does.
    func testBenchmarkCheckpointLayout() throws {
        let checkpoint = try XCTUnwrap(try WeightsFile.open(path: pth("tiny_bench.tar")) as? TorchCheckpoint)
        XCTAssertEqual(checkpoint.names, ["_orig_mod.module.blocks.0.attn.proj_k", "_orig_mod.module.cls_token"])
        XCTAssertEqual(checkpoint.otherEntries, ["args", "epoch", "run_name", "stats"])
        XCTAssertEqual(try checkpoint.floats("_orig_mod.module.blocks.0.attn.proj_k").count, 15)
        XCTAssertEqual(VisionTransformer.checkpointKey("_orig_mod.module.blocks.0.attn.proj_k"),
                       .tensor("blocks.0.attn.proj_k"))
        XCTAssertEqual(VisionTransformer.checkpointKey("module.cls_token"), .tensor("cls_token"))
        // GFNet (not a ViT variant) reads the benchmark's wrapped keys the same way; TokenLearner
        // skips its repeated blocks' second names even when wrapped.
        XCTAssertEqual(GFNet.checkpointKey("_orig_mod.module.blocks.3.filter.complex_weight"),
                       .tensor("blocks.3.filter.complex_weight"))
        let learner = try XCTUnwrap(ModelRegistry.model(named: "token_learner_vit_8_50_tiny_patch16").architecture
            .configuration(as: VisionTransformerConfig.self))
        let key = learner.checkpointKeyMap(names: [])
        XCTAssertEqual(key("_orig_mod.module.blocks.7.attn.qkv.weight"), .ignored)
        XCTAssertEqual(key("module.blocks.6.mlp.fc1.weight"), .tensor("blocks.6.mlp.fc1.weight"))
        XCTAssertEqual(key("blocks.13.norm1.weight"), .tensor("blocks.13.norm1.weight"))
    }

    func testViewsIntoOneStorageAgree() throws {
        let checkpoint = try TorchCheckpoint(path: pth("tiny_timm.pth"))
        let slice = try checkpoint.floats("proj.slice"), strided = try checkpoint.floats("proj.strided")
        XCTAssertEqual(checkpoint.shape("proj.slice"), [2, 4])
        XCTAssertEqual(strided.count, 4)
        XCTAssertEqual(strided[1], slice[2])   // storage element 5 = slice[0][2]
        XCTAssertEqual(strided[2], slice[7])   // storage element 10 = slice[1][3]
        XCTAssertNotEqual(strided[1], strided[2])
        XCTAssertEqual(try checkpoint.floats("norm.scalar"), [2.5])
        XCTAssertEqual(checkpoint.shape("norm.scalar"), [])
    }

    /// The official layout `{'model': sd, 'epoch', 'max_accuracy', 'args': Namespace}` with
    /// Cream's int64 buffers, in half precision, reproduces the engine-core parity reference.
    func testCreamCheckpointInHalfPrecisionGivesReferenceLogits() throws {
        let c = Fixtures.fixtureCase("m0_224_b2")
        let checkpoint = try TorchCheckpoint(path: pth("m0_cream_f16.pth"))
        XCTAssertEqual(checkpoint.otherEntries, ["args", "epoch", "max_accuracy"])
        XCTAssertTrue(checkpoint.names.contains("blocks1.0.mixer.m.attn.attention_bias_idxs"))
        XCTAssertEqual(checkpoint.dtype("blocks1.0.mixer.m.attn.attention_bias_idxs"), "I64")
        XCTAssertEqual(checkpoint.dtype("patch_embed.0.c.weight"), "F16")

        let model = try Model.load("m0", weights: pth("m0_cream_f16.pth"))  // format detected from the bytes
        let shape = [c.batch, 3, c.height, c.width]
        let input = Tensor(shape: shape, values: Fixtures.manifest.generator.input(shape: shape, seed: c.inputSeed))
        let logits = try model.predict(input).logits
        let reference = try NPY.read(path: Fixtures.path(c.logits))
        let scale = reference.values.map(abs).max()!
        let delta = zip(logits.values, reference.values).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(delta, 1e-4 * scale)
        // Bit for bit the generator's weights of the case, rounded to float16, under Cream's names.
        var values: [String: [Float]] = [:]
        for name in checkpoint.names {
            if case let .tensor(canonical)? = EfficientViT.checkpointKey(name) { values[canonical] = try checkpoint.floats(name) }
        }
        for t in Fixtures.generatedWeights(model: try ModelRegistry.model(named: "m0"), seed: c.weightSeed) {
            XCTAssertEqual(values[t.name], t.values.map { halfBitsToFloat(floatToHalfBits($0)) }, t.name)
        }
    }

    func testFormatIsDetectedFromBytesNotExtension() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let renamed = directory.appendingPathComponent("weights.safetensors")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: pth("tiny_timm.pth")), to: renamed)
        XCTAssertTrue(try WeightsFile.open(path: renamed.path) is TorchCheckpoint)
        let bin = directory.appendingPathComponent("model.bin")
        try SafeTensorsWriter.write([("w", [2], [1, 2])], to: bin.path)
        XCTAssertTrue(try WeightsFile.open(path: bin.path) is SafeTensorsFile)
    }

    /// Pickles that would run code are refused by the global's name, and the command never runs.
    func testMaliciousGlobalsAreRefusedAndNothingRuns() throws {
        let marker = "/tmp/vit_engine_pickle_exploit_marker"  // what the fixtures' commands would create
        try? FileManager.default.removeItem(atPath: marker)
        let cases = ["evil_os_system.pth": "os.system", "evil_builtins_eval.pth": "builtins.eval",
                     "evil_subprocess_popen.pth": "subprocess.Popen"]
        for (file, global) in cases {
            assertThrows(try Model.load("m0", weights: pth(file))) { e in
                XCTAssertEqual(e, .forbiddenPickleGlobal(path: self.pth(file), global: global))
                XCTAssertTrue(e.description.contains(global))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(file) ran its command")
        }
    }

    func testTruncatedAndCorruptArchivesGiveTypedErrors() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: pth("tiny_timm.pth")))
        func reason(_ bytes: Data) -> String? {
            do { _ = try TorchCheckpoint(data: bytes, path: "x.pth"); return nil } catch {
                guard case let .invalidCheckpoint(path, reason) = error else { return "\(error)" }
                XCTAssertEqual(path, "x.pth")
                return reason
            }
        }
        XCTAssertTrue(reason(data.prefix(data.count - 30))?.contains("no end-of-central-directory") == true)
        XCTAssertTrue(reason(data.prefix(10))?.contains("too short") == true)
        // Point the central directory past the end of the file.
        var badDirectory = data
        badDirectory.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(0x7FFF_FFF0).littleEndian, toByteOffset: data.count - 6, as: UInt32.self) }
        XCTAssertTrue(reason(badDirectory)?.contains("bad central directory") == true, reason(badDirectory) ?? "")
        // Flip one byte of a storage: its CRC-32 no longer matches, and the file is refused on opening.
        let zip = try ZipArchive(data: data, path: "x.pth")
        let storage = try XCTUnwrap(zip.entries.first { $0.name.hasSuffix("/data/0") })
        var flipped = data
        flipped[storage.dataRange.lowerBound] ^= 0xFF
        XCTAssertTrue(reason(flipped)?.contains("member '\(storage.name)' fails its CRC-32 check") == true, reason(flipped) ?? "")
        // A legacy (pre-1.6) torch.save stream is named as such, not reported as bad safetensors.
        assertThrows(try WeightsFile.open(data: Data([0x80, 0x02, 0x8A, 0x0A]), path: "old.pth")) { e in
            XCTAssertTrue(e.description.contains("legacy (pre-1.6, non-zip) torch.save file"), e.description)
        }
        // The whole stream's start (PROTO 2, then the magic number as a LONG1) is refused as well.
        let legacy = Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E])
        assertThrows(try WeightsFile.open(data: legacy, path: "old.pth")) { e in
            XCTAssertTrue(e.description.contains("legacy (pre-1.6, non-zip) torch.save file"), e.description)
        }
    }

    /// A safetensors file whose header length has 0x80 as its first byte (a 128-byte header, as
    /// about one valid file in 32 has) is safetensors, not a legacy torch.save stream.
    func testSafetensorsWhoseHeaderLengthStartsWith0x80IsRead() throws {
        var header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        header += String(repeating: " ", count: 128 - header.utf8.count)
        var data = Data()
        withUnsafeBytes(of: UInt64(128).littleEndian) { data.append(contentsOf: $0) }
        XCTAssertEqual(data.first, 0x80)
        data.append(contentsOf: Array(header.utf8))
        for value in [Float(1.5), -2.25] { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        let weights = try WeightsFile.open(data: data, path: "w.safetensors")
        XCTAssertEqual(weights.names, ["w"])
        XCTAssertEqual(try weights.floats("w"), [1.5, -2.25])
    }

    func testPickleOutsideTheSubsetIsRefused() throws {
        // A data.pkl using the protocol-0 opcode INT ('I') and one with a storage shorter than its view.
        func archive(pickle: [UInt8], storage: [UInt8] = []) -> Data {
            ZipArchiveTestWriter.archive([("t/data.pkl", Data(pickle)), ("t/data/0", Data(storage))])
        }
        let intOpcode = archive(pickle: [0x80, 2] + Array("I12\n.".utf8))
        assertThrows(try TorchCheckpoint(data: intOpcode, path: "p.pth")) { e in
            XCTAssertTrue(e.description.contains("opcode 0x49 ('I')"), e.description)
        }
        // {'w': _rebuild_tensor_v2(FloatStorage '0' numel 2, offset 1, (4,), (1,), False, OrderedDict())}
        var pickle: [UInt8] = [0x80, 2, 0x7D, 0x28] + short("w") + global("torch._utils", "_rebuild_tensor_v2") + [0x28, 0x28]
        pickle += short("storage") + global("torch", "FloatStorage") + short("0") + short("cpu") + [0x4B, 2, 0x74, 0x51]
        pickle += [0x4B, 1, 0x4B, 4, 0x85, 0x4B, 1, 0x85, 0x89] + global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52]
        pickle += [0x75, 0x2E]
        let tooShort = archive(pickle: pickle, storage: [UInt8](repeating: 0, count: 8))
        assertThrows(try TorchCheckpoint(data: tooShort, path: "s.pth")) { e in
            XCTAssertTrue(e.description.contains("reaches element 4 but its storage 't/data/0' holds only 2"), e.description)
        }
        let missingBytes = archive(pickle: pickle, storage: [0, 0, 0])
        assertThrows(try TorchCheckpoint(data: missingBytes, path: "s.pth")) { e in
            XCTAssertTrue(e.description.contains("should hold 2 F32 elements but has only 3 bytes"), e.description)
        }
    }

    /// A pickle that builds far more values than its size warrants (one empty list per byte) is
    /// refused once past the budget, instead of taking memory in proportion to 150 bytes a byte;
    /// the real checkpoints stay well inside it.
    func testPickleBuildingTooManyValuesIsRefused() throws {
        let lists = 200_000
        let pickle: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x5D, count: lists) + [0x2E]
        let archive = ZipArchiveTestWriter.archive([("t/data.pkl", Data(pickle))])
        assertThrows(try TorchCheckpoint(data: archive, path: "lists.pth")) { e in
            let budget = Unpickler<TorchPickleResolver>.valueBudget(byteCount: pickle.count)
            XCTAssertTrue(e.description.contains("builds more than \(budget) values for its \(pickle.count) bytes"), e.description)
        }
        for name in ["m0_cream_f16.pth", "tiny_timm.pth"] {
            XCTAssertNoThrow(try TorchCheckpoint(path: pth(name)), name)
        }
    }

    private func short(_ text: String) -> [UInt8] { [0x8C, UInt8(text.utf8.count)] + Array(text.utf8) }
    private func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
}
