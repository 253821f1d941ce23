import XCTest
@testable import ViTReport

final class ParetoFrontTests: XCTestCase {
    private func front(_ points: [(Double, Double)], x: Preference = .larger, y: Preference = .larger) -> [Int] {
        ParetoFront.indices(of: points.map { (x: $0.0, y: $0.1) }, x: x, y: y)
    }

    func testDominatedPointsAreLeftOut() {
        // (2,2) is beaten by (2,3), (1,1) by everything on the front.
        XCTAssertEqual(front([(1, 1), (2, 2), (3, 1), (2, 3), (0.5, 4)]), [2, 3, 4])
    }

    func testSinglePointAndEmptySet() {
        XCTAssertEqual(front([(5, 70)]), [0])
        XCTAssertEqual(front([]), [])
    }

    func testTies() {
        // Identical points: neither beats the other, both are on the front.
        XCTAssertEqual(front([(2, 2), (2, 2), (1, 1)]), [0, 1])
        // Same throughput, different accuracy: only the more accurate one.
        XCTAssertEqual(front([(2, 2), (2, 3)]), [1])
        // Same accuracy, different throughput: only the faster one.
        XCTAssertEqual(front([(1, 3), (2, 3)]), [1])
        // A tie on one axis with a point that is itself dominated does not save a point.
        XCTAssertEqual(front([(3, 1), (3, 0.5), (1, 4)]), [0, 2])
    }

    func testEveryPointOnTheFrontWhenTheyTradeOff() {
        // Faster is always less accurate: a pure trade-off, nobody dominated.
        XCTAssertEqual(front([(1000, 63), (500, 68), (300, 72), (100, 77)]), [0, 1, 2, 3])
    }

    func testSmallerIsBetterAxis() {
        // Memory: less is better. (15,70) is beaten by (10,70), (30,74) by (20,75).
        XCTAssertEqual(front([(10, 70), (20, 75), (15, 70), (30, 74)], x: .smaller), [0, 1])
        // The same points with more memory taken as better give the other corner.
        XCTAssertEqual(front([(10, 70), (20, 75), (15, 70), (30, 74)], x: .larger), [1, 3])
    }

    /// The brute-force definition, on random points with many ties (small integers).
    func testAgreesWithTheDefinitionOnRandomPoints() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let points = (0..<Int.random(in: 1...12, using: &rng)).map { _ in
                (Double(Int.random(in: 0...5, using: &rng)), Double(Int.random(in: 0...5, using: &rng)))
            }
            let result = Set(front(points))
            for (i, p) in points.enumerated() {
                let beaten = points.contains { q in q.0 >= p.0 && q.1 >= p.1 && (q.0 > p.0 || q.1 > p.1) }
                XCTAssertEqual(result.contains(i), !beaten, "\(points), point \(i)")
            }
        }
    }
}
