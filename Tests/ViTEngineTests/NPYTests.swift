import Foundation
import XCTest
@testable import ViTEngine

final class NPYTests: XCTestCase {
    /// Files written by NumPy 2.4.6 (`np.save`, or `np.lib.format.write_array` for the explicit
    /// versions), embedded so the tests need neither Python nor fixture files.
    private enum NumPyFile {
        /// `np.array([[1, -2.5, 3], [0.25, 5e-8, -6]], dtype='<f4')`
        static let float32 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAgwAAAQEAAAIA+lb9WMwAAwMA="
        /// `np.array([1.5, -0.5, 7], dtype='<f4')`, format version 2.0
        static let version2 = "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAvwAA4EA="
        /// `np.array([[2.0], [4.0]], dtype='<f4')`, format version 3.0
        static let version3 = "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMSksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAABAAACAQA=="
        /// `np.array([0.1, -2.5, 1e40], dtype='<f8')`
        static let float64 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqamZmZmZm5PwAAAAAAAATApVzD8SljPUg="
        /// `np.array([1.0, 65504, 2**-24], dtype='<f2')`
        static let float16 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPP97AQA="
        /// `np.array(3.5, dtype='<f4')` (0-d)
        static let scalar = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAGBA"
        /// `np.zeros((0, 4), dtype='<f4')`
        static let empty = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDQpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo="
        /// `np.array([1, 2], dtype='>f4')` (big-endian)
        static let bigEndian = "k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/gAAAQAAAAA=="
        /// `np.array([1, 2], dtype='<i4')`
        static let int32 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAgAAAA=="
        /// `np.asfortranarray(np.array([[1, 2], [3, 4]], dtype='<f4'))`
        static let fortran = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AABAQAAAAEAAAIBA"
    }

    private var directory: URL!

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    // MARK: Reading NumPy's files

    func testReadsNumPyFiles() throws {
        XCTAssertEqual(try read(NumPyFile.float32), Tensor(shape: [2, 3], values: [1, -2.5, 3, 0.25, 5e-8, -6]))
        XCTAssertEqual(try read(NumPyFile.version2), Tensor(shape: [3], values: [1.5, -0.5, 7]))
        XCTAssertEqual(try read(NumPyFile.version3), Tensor(shape: [2, 1], values: [2, 4]))
        XCTAssertEqual(try read(NumPyFile.float64), Tensor(shape: [3], values: [0.1, -2.5, .infinity]))
        XCTAssertEqual(try read(NumPyFile.float16), Tensor(shape: [3], values: [1, 65504, 0x1p-24]))
        XCTAssertEqual(try read(NumPyFile.scalar), Tensor(shape: [], values: [3.5]))
        XCTAssertEqual(try read(NumPyFile.empty), Tensor(shape: [0, 4], values: []))
    }

    func testRejectsOtherDTypesAndFortranOrder() {
        assertInvalid(bytes(NumPyFile.bigEndian), mentions: ["'>f4'"])
        assertInvalid(bytes(NumPyFile.int32), mentions: ["'<i4'"])
        assertInvalid(bytes(NumPyFile.fortran), mentions: ["Fortran", "'<f4'"])
        assertInvalid(header("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", dataBytes: 4),
                      mentions: ["descr"])
        assertInvalid(header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", dataBytes: 8), mentions: ["'|O'"])
    }

    func testTruncatedAndOversizedData() {
        let full = bytes(NumPyFile.float32)
        assertInvalid(full.dropLast(3), mentions: ["needs 24 data bytes", "holds 21", "truncated"])
        assertInvalid(full + Data([0]), mentions: ["needs 24 data bytes", "holds 25"])
        assertInvalid(full.prefix(60), mentions: ["header length 118", "60-byte file"])
        assertInvalid(full.prefix(9), mentions: ["header length field"])
    }

    func testMalformedPreambleAndHeader() {
        assertInvalid(Data("PK\u{3}\u{4}not numpy".utf8), mentions: ["magic"])
        var version = bytes(NumPyFile.float32)
        version[6] = 4
        assertInvalid(version, mentions: ["version 4.0"])
        var oversized = Data([0x93] + Array("NUMPY".utf8) + [2, 0])
        withUnsafeBytes(of: UInt32(5_000_000).littleEndian) { oversized.append(contentsOf: $0) }
        assertInvalid(oversized, mentions: ["limit"])
        assertInvalid(header("{'descr': '<f4', 'fortran_order': False}", dataBytes: 0), mentions: ["'shape'"])
        assertInvalid(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", dataBytes: 0), mentions: ["non-negative"])
        assertInvalid(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.5)}", dataBytes: 0), mentions: ["Python dict"])
        assertInvalid(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", dataBytes: 0),
                      mentions: ["64 bits"])
        assertInvalid(header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", dataBytes: 0),
                      mentions: ["overflows"])
        assertInvalid(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) junk", dataBytes: 4), mentions: ["Python dict"])
        assertInvalid(header("{'descr': '<f4', 'shape': " + String(repeating: "(", count: 10_000), dataBytes: 0),
                      mentions: ["too deep"])
    }

    func testHeaderParsingIsTolerantOfFormatting() throws {
        let variants = [
            "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
            "{ \"descr\" : \"<f4\" , 'shape' : ( 2 , 3 , ) , 'fortran_order' : False , }   \n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], 'extra': None}",
        ]
        for variant in variants {
            XCTAssertEqual(try NPY.read(data: header(variant, dataBytes: 24), path: "x.npy").shape, [2, 3], variant)
        }
        XCTAssertEqual(try NPY.read(data: header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", dataBytes: 12),
                                         path: "x.npy").shape, [3])
    }

    // MARK: Writing

    func testRoundTripThroughFile() throws {
        let arrays = [
            Tensor(shape: [2, 3], values: [1, -2.5, 3, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -0.0]),
            Tensor(shape: [4], values: [0.1, 0.2, 0.3, -.infinity]),
            Tensor(shape: [], values: [9]),
            Tensor(shape: [1, 0, 3], values: []),
        ]
        let path = directory.appendingPathComponent("a.npy").path
        for array in arrays {
            try NPY.write(array, path: path)
            XCTAssertEqual(try NPY.read(path: path), array)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["a.npy"])
    }

    func testWrittenHeaderMatchesNumPyConventions() throws {
        let data = try NPY.encode(Tensor(shape: [3], values: [1, 2, 3]))
        XCTAssertEqual(Array(data.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"), header)
        XCTAssertTrue(header.hasSuffix(" \n"))
        XCTAssertEqual(data.count, 10 + headerLength + 12)
        XCTAssertEqual(try NPY.encode(Tensor(shape: [2, 2], values: [1, 2, 3, 4])).count % 64, 16)
    }

    func testWriteIntoMissingDirectoryFailsAndLeavesNothing() throws {
        let parent = directory.appendingPathComponent("missing")
        let path = parent.appendingPathComponent("a.npy").path
        XCTAssertThrowsError(try NPY.write(Tensor(shape: [1], values: [1]), path: path)) { error in
            guard case .writeFailed(path, _)? = error as? EngineError else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: parent.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testUnreadableFile() {
        let path = directory.appendingPathComponent("absent.npy").path
        XCTAssertThrowsError(try NPY.read(path: path)) { error in
            guard case .fileUnreadable(path, _)? = error as? EngineError else { return XCTFail("\(error)") }
        }
    }

    // MARK: Helpers

    private func bytes(_ base64: String) -> Data {
        Data(base64Encoded: base64)!
    }

    private func read(_ base64: String) throws -> Tensor {
        try NPY.read(data: bytes(base64), path: "numpy.npy")
    }

    /// A version 1.0 file with the given header text and zeroed data.
    private func header(_ text: String, dataBytes: Int) -> Data {
        let header = Array(text.utf8)
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)])
        data.append(contentsOf: header)
        data.append(Data(count: dataBytes))
        return data
    }

    private func assertInvalid(_ data: Data, mentions fragments: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try NPY.read(data: data, path: "bad.npy"), file: file, line: line) { error in
            guard case let .invalidNPY(path, reason)? = error as? EngineError else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertEqual(path, "bad.npy", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(reason.contains(fragment), "'\(reason)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }
}
