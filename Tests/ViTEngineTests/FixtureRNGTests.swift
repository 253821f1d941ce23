import XCTest

/// The Swift port of the fixture generator reproduces the Python one (values printed by
/// `python3 scripts/fixture_rng.py`); otherwise every parity test would compare other weights.
final class FixtureRNGTests: XCTestCase {
    func testMatchesPythonReferenceValues() {
        XCTAssertEqual(FixtureRNG.fnv1a64("abc"), 0xe71f_a219_0541_574b)
        let values = FixtureRNG.uniform(name: "abc", count: 4, seed: 7, lo: -1, hi: 1)
        XCTAssertEqual(values.map(\.bitPattern), [0x3f3e_9dc2, 0xbe26_c2e0, 0xbf3e_2904, 0xbf35_2f00])
    }
}
