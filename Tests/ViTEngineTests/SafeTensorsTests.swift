import Foundation
import XCTest
@testable import ViTEngine

final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    // MARK: Round trips

    func testF32RoundTripThroughFile() throws {
        let path = directory.appendingPathComponent("model.safetensors").path
        try SafeTensorsWriter.write([
            (name: "w", shape: [2, 3], values: [1, -2.5, 3, 1e-30, .greatestFiniteMagnitude, -0.0]),
            (name: "b", shape: [], values: [42]),
            (name: "empty", shape: [0, 4], values: []),
        ], to: path)

        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.names, ["b", "empty", "w"])
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(try file.floats("w"), [1, -2.5, 3, 1e-30, .greatestFiniteMagnitude, -0.0])
        XCTAssertEqual(try file.floats("w")[5].sign, .minus)
        XCTAssertEqual(try file.floats("b"), [42])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(file.info("w")?.shape, [2, 3])
        XCTAssertEqual(file.info("w")?.dtype, "F32")
        XCTAssertEqual(file.info("w")?.byteRange.count, 24)
        XCTAssertNil(file.info("nope"))
        // The header is space-padded so that the data section starts 8-byte aligned.
        XCTAssertEqual(file.dataSectionOffset % 8, 0)
    }

    func testF16RoundTripKeepsRepresentableValuesAndSpecials() throws {
        let values: [Float] = [0, -0.0, 1, -2, 0.5, 65504, -65504, 0x1p-24, 0x1p-14, 1023 * 0x1p-24,
                               0.333251953125, .infinity, -.infinity, .nan]
        let file = try SafeTensorsFile(data: try SafeTensorsWriter.encode([(name: "h", shape: [values.count], values: values)],
                                                                         dtype: "F16"), path: "mem")
        XCTAssertEqual(file.info("h")?.byteRange.count, values.count * 2)
        let read = try file.floats("h")
        XCTAssertEqual(read.dropLast(), values.dropLast())
        XCTAssertEqual(read[1].sign, .minus)
        XCTAssertTrue(read.last!.isNaN)
    }

    func testBF16RoundTripKeepsRepresentableValuesAndSpecials() throws {
        let values: [Float] = [0, 1, -3.5, 0x1p100, -0x1p-126, Float(bitPattern: 0x0001_0000), 0.0078125,
                               .infinity, -.infinity, .nan]
        let data = try SafeTensorsWriter.encode([(name: "x", shape: [2, 5], values: values)], dtype: "BF16")
        let read = try SafeTensorsFile(data: data, path: "mem").floats("x")
        XCTAssertEqual(read.dropLast(), values.dropLast())
        XCTAssertTrue(read.last!.isNaN)
    }

    func testNarrowDTypesRoundToNearestEven() throws {
        let data = try SafeTensorsWriter.encode([(name: "x", shape: [3], values: [1 + 0x1p-11, 1 + 3 * 0x1p-11, 65520])],
                                                dtype: "F16")
        XCTAssertEqual(try SafeTensorsFile(data: data, path: "mem").floats("x"), [1, 1 + 0x1p-9, .infinity])
        let bf = try SafeTensorsWriter.encode([(name: "x", shape: [2], values: [1 + 0x1p-8, 1 + 3 * 0x1p-8])], dtype: "BF16")
        XCTAssertEqual(try SafeTensorsFile(data: bf, path: "mem").floats("x"), [1, 1 + 0x1p-6])
    }

    func testHalfConversionOfSpecificValues() {
        XCTAssertEqual(floatToHalfBits(1), 0x3C00)
        XCTAssertEqual(floatToHalfBits(-2), 0xC000)
        XCTAssertEqual(floatToHalfBits(-0.0), 0x8000)
        XCTAssertEqual(floatToHalfBits(65504), 0x7BFF)
        XCTAssertEqual(floatToHalfBits(65519), 0x7BFF)           // just below the tie: stays finite
        XCTAssertEqual(floatToHalfBits(65520), 0x7C00)           // tie with 65536 (even) -> inf
        XCTAssertEqual(floatToHalfBits(1e10), 0x7C00)
        XCTAssertEqual(floatToHalfBits(.infinity), 0x7C00)
        XCTAssertEqual(floatToHalfBits(-.infinity), 0xFC00)
        XCTAssertEqual(floatToHalfBits(.nan) & 0x7C00, 0x7C00)
        XCTAssertNotEqual(floatToHalfBits(.nan) & 0x03FF, 0)
        XCTAssertNotEqual(floatToHalfBits(Float(bitPattern: 0x7F80_0001)) & 0x03FF, 0)  // payload lost, still NaN
        XCTAssertEqual(floatToHalfBits(0x1p-14), 0x0400)         // smallest normal
        XCTAssertEqual(floatToHalfBits(0x1p-24), 0x0001)         // smallest subnormal
        XCTAssertEqual(floatToHalfBits(1023 * 0x1p-24), 0x03FF)  // largest subnormal
        XCTAssertEqual(floatToHalfBits(0x1p-25), 0x0000)         // tie between 0 and 2^-24 -> 0 (even)
        XCTAssertEqual(floatToHalfBits(3 * 0x1p-25), 0x0002)     // tie between 1 and 2 ulps -> 2 (even)
        XCTAssertEqual(floatToHalfBits(1.5 * 0x1p-25), 0x0001)
        XCTAssertEqual(floatToHalfBits(-0x1p-30), 0x8000)        // underflow keeps the sign
        XCTAssertEqual(floatToHalfBits(1 + 0x1p-11), 0x3C00)     // tie -> even
        XCTAssertEqual(floatToHalfBits(1 + 3 * 0x1p-11), 0x3C02) // tie -> even (upwards)
        XCTAssertEqual(floatToHalfBits(0.1), 0x2E66)

        XCTAssertEqual(halfBitsToFloat(0x0001), 0x1p-24)
        XCTAssertEqual(halfBitsToFloat(0x83FF), -1023 * 0x1p-24)
        XCTAssertEqual(halfBitsToFloat(0x7BFF), 65504)
        XCTAssertEqual(halfBitsToFloat(0x7C00), .infinity)
        XCTAssertEqual(halfBitsToFloat(0xFC00), -.infinity)
        XCTAssertTrue(halfBitsToFloat(0x7E00).isNaN)
        XCTAssertTrue(halfBitsToFloat(0x7C01).isNaN)
        XCTAssertEqual(halfBitsToFloat(0x8000).sign, .minus)
    }

    func testEveryHalfSurvivesARoundTripThroughFloat() {
        for bits in UInt16.min...UInt16.max {
            let value = halfBitsToFloat(bits)
            if value.isNaN {
                XCTAssertTrue(halfBitsToFloat(floatToHalfBits(value)).isNaN)
            } else if floatToHalfBits(value) != bits {
                XCTFail("half 0x\(String(bits, radix: 16)) -> \(value) -> 0x\(String(floatToHalfBits(value), radix: 16))")
            }
        }
    }

    func testBFloat16ConversionOfSpecificValues() {
        XCTAssertEqual(floatToBFloat16Bits(1), 0x3F80)
        XCTAssertEqual(floatToBFloat16Bits(.greatestFiniteMagnitude), 0x7F80)  // rounds up to inf
        XCTAssertEqual(floatToBFloat16Bits(-.infinity), 0xFF80)
        XCTAssertTrue(bfloat16BitsToFloat(floatToBFloat16Bits(Float(bitPattern: 0x7FFF_FFFF))).isNaN)
        XCTAssertTrue(bfloat16BitsToFloat(floatToBFloat16Bits(Float(bitPattern: 0x7F80_0001))).isNaN)
        XCTAssertEqual(bfloat16BitsToFloat(0xC060), -3.5)
    }

    func testMetadataRoundTrip() throws {
        let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t é ✓"]
        let data = try SafeTensorsWriter.encode([(name: "naïve \"name\"", shape: [1], values: [7])], metadata: metadata)
        let file = try SafeTensorsFile(data: data, path: "mem")
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.names, ["naïve \"name\""])
        XCTAssertEqual(try file.floats("naïve \"name\""), [7])
    }

    func testReadsFileWrittenByReferenceImplementation() throws {
        // safetensors 0.8.0 (Python, numpy backend): weight F32 [[1,-2],[0.5,3]], bias F16
        // [65504, -2^-24, inf], metadata {"format": "np"}.
        let base64 = "mAAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJucCJ9LCJ3ZWlnaHQiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsMl0sImRhdGFfb2Zmc2V0cyI6WzAsMTZdfSwiYmlhcyI6eyJkdHlwZSI6IkYxNiIsInNoYXBlIjpbM10sImRhdGFfb2Zmc2V0cyI6WzE2LDIyXX19IAAAgD8AAADAAAAAPwAAQED/ewGAAHw="
        let file = try SafeTensorsFile(data: try XCTUnwrap(Data(base64Encoded: base64)), path: "ref")
        XCTAssertEqual(file.names, ["bias", "weight"])
        XCTAssertEqual(file.metadata, ["format": "np"])
        XCTAssertEqual(file.info("weight"), TensorInfo(name: "weight", dtype: "F32", shape: [2, 2], byteRange: 0..<16))
        XCTAssertEqual(try file.floats("weight"), [1, -2, 0.5, 3])
        XCTAssertEqual(try file.floats("bias"), [65504, -0x1p-24, .infinity])
    }

    func testDataSliceWithNonZeroStartIndex() throws {
        let encoded = try SafeTensorsWriter.encode([(name: "a", shape: [2], values: [1, 2])])
        let slice = (Data([9, 9, 9]) + encoded).dropFirst(3)
        XCTAssertEqual(try SafeTensorsFile(data: slice, path: "mem").floats("a"), [1, 2])
    }

    // MARK: Validation

    func testTooShortFile() {
        assertInvalid(Data([1, 2, 3]), mentions: ["3 bytes"])
    }

    func testTruncatedHeader() throws {
        let encoded = try SafeTensorsWriter.encode([(name: "a", shape: [2], values: [1, 2])])
        assertInvalid(encoded.prefix(20), mentions: ["header length", "exceeds the 12 bytes"])
    }

    func testOversizedHeader() {
        var data = Data()
        withUnsafeBytes(of: UInt64(200_000_000).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array("{}".utf8))
        assertInvalid(data, mentions: ["oversized header"])
        var huge = Data()
        withUnsafeBytes(of: UInt64.max.littleEndian) { huge.append(contentsOf: $0) }
        assertInvalid(huge, mentions: ["oversized header"])
    }

    func testMalformedJSON() {
        assertInvalid(file(header: "{\"a\": {"), mentions: ["not valid JSON"])
        assertInvalid(file(header: "[1, 2]"), mentions: ["expected a JSON object"])
        assertInvalid(file(header: "{\"a\": 3}"), mentions: ["'a'", "expected an object"])
        assertInvalid(Data([2, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE]), mentions: ["UTF-8"])
    }

    /// What the safetensors library refuses and Foundation's JSON would accept silently: a key
    /// twice (which of the two a reader sees is up to the reader), and a dimension or offset
    /// written as a fraction or with an exponent.
    func testDuplicateKeysAndNonIntegerNumbersAreRefused() {
        let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        assertInvalid(file(header: #"{"a":\#(entry),"a":\#(entry)}"#, dataBytes: 4), mentions: ["\"a\" appears twice"])
        assertInvalid(file(header: #"{"__metadata__":{"k":"1","k":"2"},"a":\#(entry)}"#, dataBytes: 4),
                      mentions: ["\"k\" appears twice"])
        assertInvalid(file(header: #"{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4),
                      mentions: ["\"dtype\" appears twice"])
        for dimension in ["1.0", "1e0", "1E+0", "10e-1"] {
            assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[\#(dimension)],"data_offsets":[0,4]}}"#, dataBytes: 4),
                          mentions: ["'a'", "shape dimension"])
        }
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, dataBytes: 4),
                      mentions: ["'a'", "data_offsets"])
        for malformed in [#"{"a":01}"#, #"{"a":"\x"}"#, #"{"a":"\ud800"}"#, #"{"a":[1,]}"#, #"{"a":1} x"#,
                          String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            assertInvalid(file(header: malformed), mentions: ["not valid JSON", "at byte"])
        }
        // Escapes decode as JSON defines them: a name with a quote, a tab and an astral character.
        let name = "q\"\t\u{1F600}"
        let header = #"{"q\"\t\ud83d\ude00":\#(entry)}"#
        XCTAssertEqual(try SafeTensorsFile(data: file(header: header, dataBytes: 4), path: "escaped.safetensors").names, [name])
    }

    func testEntriesWithMissingOrMistypedFields() {
        assertInvalid(file(header: #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4), mentions: ["'a'", "dtype"])
        assertInvalid(file(header: #"{"a":{"dtype":5,"shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4), mentions: ["dtype"])
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, dataBytes: 4), mentions: ["shape"])
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, dataBytes: 4), mentions: ["'a'", "data_offsets"])
        assertInvalid(file(header: #"{"__metadata__":{"k":1}}"#), mentions: ["__metadata__", "'k'"])
        assertInvalid(file(header: #"{"__metadata__":[]}"#), mentions: ["__metadata__"])
    }

    func testBadShapeDimensions() {
        for shape in ["[-1]", "[2.5]", "[true]", "[null]", "[1e30]"] {
            assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,4]}}"#, dataBytes: 4),
                          mentions: ["'a'", "non-negative integers"])
        }
    }

    func testBadDataOffsets() {
        for offsets in ["[4,0]", "[0]", "[0,4,8]", "[-4,0]", "[0,4.5]", "\"0,4\""] {
            assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":\#(offsets)}}"#, dataBytes: 8),
                          mentions: ["'a'", "two ascending"])
        }
    }

    func testOffsetsPastTheDataSection() {
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 4),
                      mentions: ["'a'", "ends at byte 8", "holds only 4 bytes"])
    }

    func testByteLengthDisagreesWithShape() {
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8),
                      mentions: ["'a'", "has 8 bytes", "needs 12"])
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[9223372036854775807,4],"data_offsets":[0,8]}}"#, dataBytes: 8),
                      mentions: ["'a'", "overflows"])
    }

    /// Tensors that share bytes are refused, as the safetensors library refuses them (one would
    /// read the other's values); adjacent and empty tensors are fine.
    func testOverlappingTensorsAreRefused() throws {
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                           dataBytes: 4), mentions: ["'a'", "'b'", "overlap"])
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                           dataBytes: 8), mentions: ["'a' (bytes 0..<8)", "'b' (bytes 4..<8)", "overlap"])
        let adjacent = file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#,
                            dataBytes: 8)
        XCTAssertEqual(try SafeTensorsFile(data: adjacent, path: "mem").names, ["a", "b", "e"])
    }

    /// Bytes between tensors or after the last one are refused (the safetensors library refuses
    /// them too): nothing may hide in a weights file beside its tensors.
    func testBytesThatBelongToNoTensorAreRefused() throws {
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                           dataBytes: 12), mentions: ["bytes 4..<8", "before 'b'"])
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, dataBytes: 8),
                      mentions: ["bytes 0..<4", "before 'a'"])
        assertInvalid(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 12),
                      mentions: ["bytes 4..<12 at the end"])
        assertInvalid(file(header: #"{}"#, dataBytes: 4), mentions: ["bytes 0..<4 at the end"])
    }

    func testUnsupportedDTypeIsReportedWhenRead() throws {
        let data = file(header: #"{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"q":{"dtype":"Q7","shape":[3],"data_offsets":[8,13]}}"#,
                        dataBytes: 13)
        let opened = try SafeTensorsFile(data: data, path: "mem")
        XCTAssertThrowsError(try opened.floats("i")) { error in
            XCTAssertEqual(error as? EngineError, .unsupportedDType(tensor: "i", dtype: "I64", path: "mem"))
        }
        XCTAssertThrowsError(try opened.floats("q")) { error in
            XCTAssertEqual(error as? EngineError, .unsupportedDType(tensor: "q", dtype: "Q7", path: "mem"))
        }
        // Known dtypes are still size-checked even though they cannot be converted.
        assertInvalid(file(header: #"{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4), mentions: ["needs 8"])
    }

    func testMissingTensorAndUnreadableFile() throws {
        let opened = try SafeTensorsFile(data: SafeTensorsWriter.encode([]), path: "mem")
        XCTAssertEqual(opened.names, [])
        XCTAssertThrowsError(try opened.floats("x")) { error in
            XCTAssertEqual(error as? EngineError, .missingTensors(names: ["x"], path: "mem"))
        }
        let missing = directory.appendingPathComponent("absent.safetensors").path
        XCTAssertThrowsError(try SafeTensorsFile(path: missing)) { error in
            guard case .fileUnreadable(missing, _)? = error as? EngineError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: directory.path)) { error in
            XCTAssertEqual(error as? EngineError, .fileUnreadable(path: directory.path, reason: "it is a directory"))
        }
    }

    // MARK: Writing

    func testWriterRejectsBadInput() {
        let cases: [([(name: String, shape: [Int], values: [Float])], String, String)] = [
            ([(name: "a", shape: [2], values: [1])], "F32", "needs 2"),
            ([(name: "a", shape: [1], values: [1])], "F64", "F64"),
            ([(name: "a", shape: [1], values: [1]), (name: "a", shape: [1], values: [2])], "F32", "duplicate"),
            ([(name: "__metadata__", shape: [1], values: [1])], "F32", "reserved"),
            ([(name: "a", shape: [-1], values: [])], "F32", "negative"),
        ]
        for (tensors, dtype, fragment) in cases {
            XCTAssertThrowsError(try SafeTensorsWriter.encode(tensors, dtype: dtype)) { error in
                guard case let .writeFailed(_, reason)? = error as? EngineError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains(fragment), reason)
            }
        }
    }

    func testWriteIntoMissingDirectoryFailsAndLeavesNothing() throws {
        let parent = directory.appendingPathComponent("no-such-dir")
        let path = parent.appendingPathComponent("out.safetensors").path
        XCTAssertThrowsError(try SafeTensorsWriter.write([(name: "a", shape: [1], values: [1])], to: path)) { error in
            guard case .writeFailed(path, _)? = error as? EngineError else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: parent.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testWriteReplacesExistingFileAndLeavesNoTemporaryFiles() throws {
        let path = directory.appendingPathComponent("w.safetensors").path
        try SafeTensorsWriter.write([(name: "a", shape: [1], values: [1])], to: path)
        try SafeTensorsWriter.write([(name: "b", shape: [2], values: [2, 3])], dtype: "BF16", to: path)
        XCTAssertEqual(try SafeTensorsFile(path: path).names, ["b"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["w.safetensors"])
    }

    // MARK: Helpers

    /// A safetensors file with the given JSON header (space-padded like the writer) and zeroed data.
    private func file(header: String, dataBytes: Int = 0) -> Data {
        var json = Array(header.utf8)
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: json)
        data.append(Data(count: dataBytes))
        return data
    }

    private func assertInvalid(_ data: Data, mentions fragments: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(data: data, path: "bad.safetensors"), file: file, line: line) { error in
            guard case let .invalidSafetensors(path, reason)? = error as? EngineError else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertEqual(path, "bad.safetensors", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(reason.contains(fragment), "'\(reason)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }
}
