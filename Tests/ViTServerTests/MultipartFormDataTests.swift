import Foundation
@testable import ViTServer
import XCTest

/// The server's own multipart/form-data parser, byte by byte.
final class MultipartFormDataTests: XCTestCase {
    private func parse(_ text: String, boundary: String = "B") throws(MultipartFormData.Failure) -> [MultipartFormData.Part] {
        try parse(Data(text.utf8), boundary: boundary)
    }

    private func parse(_ data: Data, boundary: String = "B") throws(MultipartFormData.Failure) -> [MultipartFormData.Part] {
        let result: Result<MultipartFormData, MultipartFormData.Failure> = data.withUnsafeBytes { bytes in
            Result { () throws(MultipartFormData.Failure) in try MultipartFormData(bytes, boundary: boundary) }
        }
        return try result.get().parts
    }

    func testPartsHeadersPreambleEpilogueAndPadding() throws {
        let parts = try parse("preamble, ignored\r\n--B  \r\nContent-Disposition: form-data; name=\"image\"; filename=\"çà.png\"\r\n"
                              + "Content-Type: image/png\r\n\r\n--B is not a delimiter here\r\n\r\n--B\r\n\r\nno headers\r\n--B--\r\nepilogue")
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[0].header("content-disposition"), "form-data; name=\"image\"; filename=\"çà.png\"")
        XCTAssertEqual(parts[0].header("content-type"), "image/png")
        XCTAssertEqual(String(decoding: parts[0].body, as: UTF8.self), "--B is not a delimiter here\r\n")
        XCTAssertTrue(parts[1].headers.isEmpty)
        XCTAssertEqual(String(decoding: parts[1].body, as: UTF8.self), "no headers")
        // Binary bodies are kept byte for byte, CR and LF included.
        let binary = Data((0..<256).map { UInt8($0) } + [13, 10, 45, 45])
        let framed = Data("--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n".utf8) + binary + Data("\r\n--B--".utf8)
        XCTAssertEqual(try parse(framed).first?.body, binary)
    }

    /// MultipartKit 4.7.1 trapped on a header-name byte above 0x7F (a table of 128 entries),
    /// which ended `vit serve`; every malformed body is now a typed failure.
    func testMalformedBodiesAreTypedFailures() {
        let highByte = Data("--B\r\nX-".utf8) + Data([0x80]) + Data(": y\r\n\r\nabc\r\n--B--\r\n".utf8)
        let cases: [(String, Data, MultipartFormData.Failure)] = [
            ("header name above 0x7F", highByte, .malformed("part 1 has a header name with a byte that a field name cannot hold")),
            ("header name with a space", Data("--B\r\nBad Name: y\r\n\r\nabc\r\n--B--".utf8),
             .malformed("part 1 has a header name with a byte that a field name cannot hold")),
            ("control character in a value", Data("--B\r\nA: y\u{1}\r\n\r\nabc\r\n--B--".utf8),
             .malformed("part 1 has a header value with a control character")),
            ("header without a colon", Data("--B\r\nnocolon\r\n\r\nabc\r\n--B--".utf8),
             .malformed("part 1 has a header line without a 'name:'")),
            ("no delimiter", Data("just text".utf8), .malformed("no '--B' line starts a part")),
            ("closed at once", Data("--B--\r\n".utf8), .malformed("it closes before its first part")),
            ("delimiter then text", Data("--Bx\r\n\r\nabc\r\n--B--".utf8),
             .malformed("a '--B' delimiter is followed by something other than a line break")),
            ("no closing delimiter", Data("--B\r\n\r\nabc".utf8), .cutShort),
            ("headers cut", Data("--B\r\nA: b".utf8), .cutShort),
            ("empty", Data(), .malformed("no '--B' line starts a part")),
            ("headers too long", Data(("--B\r\nA: " + String(repeating: "a", count: 20_000) + "\r\n\r\nx\r\n--B--").utf8),
             .malformed("part 1's headers are longer than 16384 bytes")),
        ]
        for (name, body, expected) in cases {
            XCTAssertThrowsError(try parse(body)) { XCTAssertEqual($0 as? MultipartFormData.Failure, expected, name) }
        }
    }

    /// A body of nothing but near-delimiters is searched in linear time.
    func testAdversarialBodiesParseQuickly() throws {
        let boundary = String(repeating: "a", count: 70)
        let near = String(repeating: "\r\n--" + String(repeating: "a", count: 69) + "b", count: 150_000)  // ~11 MB
        let body = "--\(boundary)\r\n\r\n" + near + "\r\n--\(boundary)--"
        let started = Date()
        let parts = try parse(body, boundary: boundary)
        XCTAssertEqual(parts.count, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }
}
