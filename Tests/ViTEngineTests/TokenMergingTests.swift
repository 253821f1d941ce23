import Foundation
import XCTest
@testable import ViTEngine

/// ToMe's bipartite soft matching on hand-made keys, beside the parity tests (which use inputs
/// far from ties): the choices the benchmark's algorithm makes, and a well-formed merge whatever
/// the scores (a key row of zeros makes them NaN).
final class TokenMergingTests: XCTestCase {
    /// `[T, 3·C]` q|k|v rows with one head of width 2 whose keys point at `degrees`.
    private func destinations(keys degrees: [Double?], merged: Int) -> [Int] {
        let t = degrees.count
        var qkv = [Float](repeating: 0, count: t * 6)
        for (i, angle) in degrees.enumerated() {
            guard let angle else { continue }
            qkv[i * 6 + 2] = Float(cos(angle * .pi / 180))
            qkv[i * 6 + 3] = Float(sin(angle * .pi / 180))
        }
        let match = TokenMatch(heads: 1, headDim: 2, merged: merged, protectsFirst: true)
        var scratch = [Float](repeating: 0, count: TokenMergingKernel.matchScratchCount(tokens: t, headDim: 2))
        var out = [Float](repeating: -1, count: t)
        qkv.withUnsafeBufferPointer { q in
            TokenMergingKernel.match(match, qkv: q.baseAddress!, tokens: t, scratch: &scratch, destinations: &out)
        }
        return out.map { Int($0) }
    }

    func testTheBestEdgesMergeIntoTheirNearestOddToken() {
        // Even tokens 2, 4, 6 are nearest to odd tokens 3 (5°), 5 (70°) and 5 (2°): with r = 2,
        // tokens 6 and 2 merge; the class token and token 4 stay, in order, before the odd ones
        // (what the benchmark's bipartite_soft_matching gives for these keys).
        XCTAssertEqual(destinations(keys: [0, 10, 100, 95, 200, 270, 268], merged: 2), [0, 2, 3, 3, 1, 4, 4])
    }

    func testZeroKeysStillGiveAWellFormedMergeThatKeepsTheClassToken() {
        let d = destinations(keys: [0, nil, nil, nil, nil, nil, nil], merged: 3)
        XCTAssertEqual(d[0], 0)
        XCTAssertEqual(Set(d), Set(0..<4), "every place of the 4 merged tokens is filled, none beyond")
    }
}
