import Foundation
import XCTest

/// The README's Swift code is the consumer package's code (Examples/Consumer, built against a
/// version tag of the engine by scripts/consumer.sh), so what the README shows compiles: every
/// ```swift block equals, line for line, a region between `// README: begin` and `// README: end`
/// of the consumer's sources (indentation aside), and every such region is in the README.
final class ReadmeExamplesTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A block's lines without their common indentation and without surrounding blank lines.
    private static func normalized(_ lines: [Substring]) -> String {
        var lines = lines.map { String($0) }
        while lines.first?.allSatisfy(\.isWhitespace) == true { lines.removeFirst() }
        while lines.last?.allSatisfy(\.isWhitespace) == true { lines.removeLast() }
        let indent = lines.filter { !$0.allSatisfy(\.isWhitespace) }
            .map { $0.prefix(while: { $0 == " " }).count }.min() ?? 0
        return lines.map { $0.allSatisfy(\.isWhitespace) ? "" : String($0.dropFirst(indent)) }.joined(separator: "\n")
    }

    /// The bodies of the fenced blocks opened by `opening` (```swift) in `text`.
    static func fencedBlocks(in text: String, opening: String = "```swift") -> [String] {
        var blocks: [String] = [], current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == opening {
                current = []
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(normalized(current!))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    /// The marked regions of one source file.
    static func markedRegions(in text: String) -> [String] {
        var regions: [String] = [], current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            switch line.trimmingCharacters(in: .whitespaces) {
            case "// README: begin": current = []
            case "// README: end":
                if let region = current { regions.append(normalized(region)) }
                current = nil
            default: current?.append(line)
            }
        }
        return regions
    }

    func testEveryReadmeSwiftBlockIsConsumerCode() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let sources = Self.root.appendingPathComponent("Examples/Consumer/Sources")
        let files = try XCTUnwrap(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        var regions: [String] = []
        for file in files { regions += Self.markedRegions(in: try String(contentsOf: file, encoding: .utf8)) }
        let blocks = Self.fencedBlocks(in: readme)
        XCTAssertFalse(blocks.isEmpty, "README.md has no ```swift blocks")
        XCTAssertGreaterThanOrEqual(regions.count, 4, "Examples/Consumer/Sources has too few README regions")
        for block in blocks where !regions.contains(block) {
            XCTFail("README.md's Swift block is not in Examples/Consumer/Sources between README markers:\n\(block)")
        }
        for region in regions where !blocks.contains(region) {
            XCTFail("this region of Examples/Consumer/Sources is not a README.md Swift block:\n\(region)")
        }
    }

    func testTheComparisonSeesADifference() {
        let readme = "text\n```swift\nlet a = 1\n    let b = 2\n```\n"
        let source = "x\n    // README: begin\n    let a = 1\n        let b = 2\n    // README: end\n"
        XCTAssertEqual(Self.fencedBlocks(in: readme), Self.markedRegions(in: source))
        XCTAssertNotEqual(Self.fencedBlocks(in: readme.replacingOccurrences(of: "= 2", with: "= 3")),
                          Self.markedRegions(in: source))
    }
}
