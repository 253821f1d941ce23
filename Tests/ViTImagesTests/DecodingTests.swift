import Foundation
import XCTest
@testable import ViTImages

/// Decoding parity with PIL's `Image.open(p).convert("RGB")`, and every kind of bad file.
final class DecodingTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try ImageFixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func scratch(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: ImageFixtures.path(name))))
    }

    /// Every fixture decodes to exactly PIL's RGB bytes (JPEG included: PIL uses libjpeg-turbo with
    /// the same accurate integer IDCT and fancy upsampling).
    func testEveryFixtureDecodesExactlyAsPIL() throws {
        let images = ImageFixtures.manifest.images
        XCTAssertEqual(Set(images.map(\.pilMode)), ["RGB", "L", "1", "P", "LA", "RGBA", "I;16", "CMYK"])
        XCTAssertGreaterThanOrEqual(images.count, 18)
        XCTAssertTrue(images.contains { $0.file == "ycck.jpg" } && images.contains { $0.file == "progressive.jpg" })
        for expected in images {
            let image = try ImageDecoder().decode(path: ImageFixtures.path(expected.file))
            XCTAssertEqual(image.width, expected.width, expected.file)
            XCTAssertEqual(image.height, expected.height, expected.file)
            XCTAssertEqual(ImageFixtures.fnv1a64(image.pixels), expected.rgbFNV1a64,
                           "\(expected.file) (PIL mode \(expected.pilMode)) decodes to other RGB bytes than PIL")
        }
    }

    func testFormatComesFromTheBytesNotTheExtension() throws {
        let png = try scratch("really-a-png.jpg", fixtureBytes("gray.png"))
        let jpeg = try scratch("really-a-jpeg.png", fixtureBytes("chelsea.jpg"))
        let noExtension = try scratch("photo", fixtureBytes("coffee.jpg"))
        XCTAssertEqual(try ImageDecoder().decode(path: png), try ImageDecoder().decode(path: ImageFixtures.path("gray.png")))
        XCTAssertEqual(try ImageDecoder().decode(path: jpeg), try ImageDecoder().decode(path: ImageFixtures.path("chelsea.jpg")))
        XCTAssertEqual(try ImageDecoder().decode(path: noExtension).width, 600)
        XCTAssertEqual(ImageFormat.detect(try fixtureBytes("cmyk.jpg")), .jpeg)
        XCTAssertEqual(ImageFormat.detect(try fixtureBytes("rgba16.png")), .png)
    }

    private func assertDecodeFails(_ path: String, _ expected: ImageError, mentioning text: String? = nil,
                                   decoder: ImageDecoder = ImageDecoder(), line: UInt = #line) {
        XCTAssertThrowsError(try decoder.decode(path: path), line: line) { error in
            guard let error = error as? ImageError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error, expected, line: line)
            XCTAssertTrue(error.description.contains(path), error.description, line: line)
            if let text { XCTAssertTrue(error.description.contains(text), error.description, line: line) }
        }
    }

    func testUnreadableEmptyAndNonImageFiles() throws {
        let missing = directory.appendingPathComponent("absent.jpg").path
        assertDecodeFails(missing, .unreadable(path: missing, reason: "no such file"))
        assertDecodeFails(directory.path, .unreadable(path: directory.path, reason: "it is a directory"))
        let empty = try scratch("empty.jpg", [])
        assertDecodeFails(empty, .empty(path: empty), mentioning: "0 bytes")
        let text = try scratch("notes.png", Array("just some text\n".utf8))
        assertDecodeFails(text, .notAnImage(path: text, found: "text"))
        let gif = try scratch("anim.jpg", Array("GIF89a".utf8) + [0, 1, 0, 1])
        assertDecodeFails(gif, .notAnImage(path: gif, found: "a GIF image"))
        let binary = try scratch("blob.png", [0x00, 0x01, 0xFE, 0x7F, 0x80, 0x10])
        assertDecodeFails(binary, .notAnImage(path: binary, found: "starts with bytes 00 01 FE 7F 80 10"))
    }

    func testTruncatedFilesAreReportedNotPadded() throws {
        for (file, format) in [("chelsea.jpg", ImageFormat.jpeg), ("progressive.jpg", .jpeg), ("cmyk.jpg", .jpeg), ("ycck.jpg", .jpeg),
                               ("astronaut.png", .png), ("palette4_interlaced.png", .png), ("rgb16.png", .png)] {
            let bytes = try fixtureBytes(file)
            let path = try scratch("cut-" + file, Array(bytes.prefix(bytes.count * 6 / 10)))
            assertDecodeFails(path, .truncated(path: path, format: format), mentioning: "truncated")
            // Only the signature left: the header itself is cut.
            let stub = try scratch("stub-" + file, Array(bytes.prefix(format == .png ? 8 : 3)))
            XCTAssertThrowsError(try ImageDecoder().decode(path: stub), file)
        }
    }

    func testCorruptDataIsACorruptError() throws {
        // A frame header whose length field is impossible.
        var jpeg = try fixtureBytes("chelsea.jpg")
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 2)..<(sof + 4), with: [0x00, 0x05])
        let badFrame = try scratch("bad-frame.jpg", jpeg)
        XCTAssertThrowsError(try ImageDecoder().decode(path: badFrame)) { error in
            guard case let .corrupt(path, format, reason)? = error as? ImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, badFrame)
            XCTAssertEqual(format, .jpeg)
            XCTAssertFalse(reason.isEmpty)
        }
        // A JPEG signature followed by garbage: libjpeg skips it looking for markers and runs out.
        let garbage = try scratch("garbage.jpg", [0xFF, 0xD8, 0xFF] + (0..<400).map { UInt8(($0 * 37) % 251) })
        XCTAssertThrowsError(try ImageDecoder().decode(path: garbage)) { error in
            XCTAssertEqual(error as? ImageError, .truncated(path: garbage, format: .jpeg))
        }
        // A PNG whose compressed image data is damaged: libpng's CRC check refuses it.
        var png = try fixtureBytes("astronaut.png")
        for i in stride(from: png.count / 2, to: png.count / 2 + 64, by: 1) { png[i] ^= 0x5A }
        let damaged = try scratch("damaged.png", png)
        XCTAssertThrowsError(try ImageDecoder().decode(path: damaged)) { error in
            guard case .corrupt(damaged, .png, _)? = error as? ImageError else { return XCTFail("\(error)") }
        }
    }

    /// A lossless (SOF3) JPEG is a valid file this libjpeg cannot decode: unsupported, not corrupt.
    func testLosslessJPEGIsUnsupportedNotCorrupt() throws {
        var jpeg = try fixtureBytes("chelsea.jpg")
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg[sof + 1] = 0xC3
        let lossless = try scratch("lossless.jpg", jpeg)
        XCTAssertThrowsError(try ImageDecoder().decode(path: lossless)) { error in
            guard case let .unsupported(path, format, reason)? = error as? ImageError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, lossless)
            XCTAssertEqual(format, .jpeg)
            XCTAssertTrue(reason.contains("SOF type 0xc3"), reason)
        }
    }

    /// The pixel limit applies to the header's dimensions, before any pixel memory is allocated.
    func testPixelLimitGuardsAgainstDecompressionBombs() throws {
        let chelsea = ImageFixtures.path("chelsea.jpg")
        assertDecodeFails(chelsea, .tooLarge(path: chelsea, width: 451, height: 300, limit: 100_000),
                          mentioning: "--max-pixels", decoder: ImageDecoder(maximumPixels: 100_000))

        // A JPEG whose frame header claims 60000×60000 (3.6 gigapixels) in a 34 KB file.
        var jpeg = try fixtureBytes("chelsea.jpg")
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
        let jpegBomb = try scratch("bomb.jpg", jpeg)
        assertDecodeFails(jpegBomb, .tooLarge(path: jpegBomb, width: 60000, height: 60000,
                                              limit: ImageDecoder.defaultMaximumPixels))

        // A PNG whose IHDR claims 50000×50000 (with a valid CRC, so libpng accepts the chunk).
        var png = try fixtureBytes("gray.png")
        png.replaceSubrange(16..<24, with: [0, 0, 0xC3, 0x50, 0, 0, 0xC3, 0x50])
        let crc = crc32(Array(png[12..<29]))
        png.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        let pngBomb = try scratch("bomb.png", png)
        assertDecodeFails(pngBomb, .tooLarge(path: pngBomb, width: 50000, height: 50000,
                                             limit: ImageDecoder.defaultMaximumPixels))
        let header = try ImageDecoder().dimensions(data: Data(png), path: pngBomb)
        XCTAssertEqual(header.width, 50000)
        XCTAssertEqual(header.format, .png)
    }

    func testFileSizeLimit() throws {
        let coffee = ImageFixtures.path("coffee.jpg")
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: coffee)[.size] as? Int)
        assertDecodeFails(coffee, .fileTooLarge(path: coffee, bytes: size, limit: 1000),
                          decoder: ImageDecoder(maximumFileBytes: 1000))
    }

    /// PIL's CMYK → RGB on inverted (Adobe) samples, checked on hand-computed values.
    func testInvertedCMYKConversionMatchesPILFormula() {
        // Stored (inverted) samples: 255 = no ink.
        let stored: [UInt8] = [255, 255, 255, 255,  0, 255, 255, 255,  255, 255, 255, 0,  155, 55, 205, 128]
        let rgb = ImageDecoder.invertedCMYKToRGB(stored)
        // C=100,M=200,Y=50,K=127 → nk=128: R = 128 − (100·128+128 + ((100·128+128)>>8))>>8 = 128 − 50 = 78.
        XCTAssertEqual(rgb, [255, 255, 255,  0, 255, 255,  0, 0, 0,  78, 28, 103])
    }

    /// A crafted progressive JPEG could have thousands of scans; the limit bounds the work.
    func testProgressiveScanLimit() throws {
        let path = ImageFixtures.path("progressive.jpg")
        var decoder = ImageDecoder()
        XCTAssertNoThrow(try decoder.decode(path: path))
        decoder.maximumProgressiveScans = 3
        XCTAssertThrowsError(try decoder.decode(path: path)) { error in
            XCTAssertEqual(error as? ImageError, .unsupported(path: path, format: .jpeg, reason: "more than 3 progressive scans"))
        }
    }

    /// Bounded random mutations of real files (bytes flipped, runs zeroed, cut short): each decode
    /// returns an image or throws an ImageError; none crashes, hangs or allocates without bound.
    func testMutatedFilesNeverCrash() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var outcomes = (decoded: 0, refused: 0)
        for file in ["chelsea.jpg", "progressive.jpg", "cmyk.jpg", "gray.png", "palette4_interlaced.png", "rgba16.png"] {
            let original = try fixtureBytes(file)
            for _ in 0..<40 {
                var bytes = original
                switch next(3) {
                case 0: for _ in 0..<(1 + next(8)) { bytes[next(bytes.count)] ^= UInt8(1 + next(255)) }
                case 1:
                    let start = next(bytes.count), count = min(1 + next(64), bytes.count - start)
                    bytes.replaceSubrange(start..<(start + count), with: [UInt8](repeating: 0, count: count))
                default: bytes = Array(bytes.prefix(next(bytes.count)))
                }
                do {
                    let image = try ImageDecoder(maximumPixels: 4_000_000).decode(data: Data(bytes), path: file)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    outcomes.decoded += 1
                } catch {
                    XCTAssertFalse(error.description.isEmpty)
                    outcomes.refused += 1
                }
            }
        }
        XCTAssertEqual(outcomes.decoded + outcomes.refused, 240)
        XCTAssertGreaterThan(outcomes.refused, 0)
    }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
