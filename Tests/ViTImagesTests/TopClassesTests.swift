import Foundation
import XCTest
@testable import ViTImages

final class TopClassesTests: XCTestCase {
    func testSoftmaxTopKWithLabelsAndTies() {
        let logits: [Float] = [1, 3, 3, -2, 0.5]
        let top = TopClasses(logits: logits, k: 3, labels: ["a", "b", "c", "d"])
        XCTAssertEqual(top.indices, [1, 2, 0])            // tie between 1 and 2: lower index first
        XCTAssertEqual(top.labels, ["b", "c", "a"])
        let total = logits.map { exp(Double($0)) }.reduce(0, +)
        XCTAssertEqual(top.probabilities[0], exp(3) / total, accuracy: 1e-12)
        XCTAssertEqual(top.probabilities[2], exp(1) / total, accuracy: 1e-12)
        // No label for class 4: a placeholder name, never a crash.
        XCTAssertEqual(TopClasses(logits: logits, k: 5, labels: ["a"]).labels.last, "class 3")
        XCTAssertEqual(TopClasses(logits: logits, k: 10, labels: []).indices.count, 5)
    }

    func testLargeLogitsDoNotOverflow() {
        let top = TopClasses(logits: [1000, 999, -1000], k: 2, labels: [])
        XCTAssertEqual(top.probabilities[0], 1 / (1 + exp(-1)), accuracy: 1e-12)
        XCTAssertFalse(top.probabilities.contains { $0.isNaN })
    }

    func testRowsSplitABatch() {
        let rows = TopClasses.rows(of: [0, 1, 5, 4], classes: 2, k: 1, labels: ["x", "y"])
        XCTAssertEqual(rows.map(\.indices), [[1], [0]])
        XCTAssertEqual(rows.map(\.labels), [["y"], ["x"]])
    }
}
