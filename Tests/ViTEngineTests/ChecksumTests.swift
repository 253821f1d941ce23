import Foundation
import XCTest
@testable import ViTEngine

/// SHA-256 (recorded for downloads and conversions) and CRC-32 (zip members) against published vectors.
final class ChecksumTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hexDigest(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(of: Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hexDigest(of: Data(repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testSHA256IsTheSameWhateverTheChunking() throws {
        let data = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        let whole = SHA256.hexDigest(of: data)
        for chunk in [1, 7, 63, 64, 65, 500] {
            var hasher = SHA256()
            var offset = 0
            while offset < data.count {
                hasher.update(data[offset..<min(offset + chunk, data.count)])
                offset += chunk
            }
            XCTAssertEqual(hasher.hexDigest(), whole, "chunk \(chunk)")
        }
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("f.bin")
        try data.write(to: file)
        XCTAssertEqual(try SHA256.hexDigest(ofFile: file.path), whole)
    }

    func testCRC32KnownVector() {
        XCTAssertEqual(CRC32.checksum(Data("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum(Data()), 0)
    }
}
