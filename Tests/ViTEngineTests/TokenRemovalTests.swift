import Foundation
import XCTest
@testable import ViTEngine

/// EViT's token removal on hand-made tokens, beside the parity tests (which use inputs far from
/// ties): which tokens stay, in which order, what the fused token holds, and the class attention
/// the choice is made on.
final class TokenRemovalTests: XCTestCase {
    /// The kept sequence of `[1 + scores.count, 2]` tokens whose token i is `(i, 10·i)`.
    private func select(scores: [Float], kept: Int, fuses: Bool) -> [[Float]] {
        let t = scores.count + 1, c = 2
        let x = (0..<t).flatMap { [Float($0), Float(10 * $0)] }
        let outTokens = 1 + kept + (fuses ? 1 : 0)
        var out = [Float](repeating: .nan, count: outTokens * c)
        var ranks = [Float](repeating: 0, count: t - 1)
        TokenRemovalKernel.select(x: x, tokens: t, channels: c, scores: scores, kept: kept, fusesRest: fuses,
                                  ranks: &ranks, out: &out)
        return (0..<outTokens).map { Array(out[($0 * c)..<($0 * c + c)]) }
    }

    func testTheMostAttendedTokensStayMostAttendedFirst() {
        // Tokens 1…5 with scores 0.1, 0.4, 0.2, 0.25, 0.05: keep 3 → tokens 2, 4, 3.
        XCTAssertEqual(select(scores: [0.1, 0.4, 0.2, 0.25, 0.05], kept: 3, fuses: false),
                       [[0, 0], [2, 20], [4, 40], [3, 30]])
    }

    func testTheDroppedTokensAreFusedByTheirScores() {
        // Dropped: token 1 (0.1) and token 5 (0.05): 0.1·(1, 10) + 0.05·(5, 50).
        let out = select(scores: [0.1, 0.4, 0.2, 0.25, 0.05], kept: 3, fuses: true)
        XCTAssertEqual(out.count, 5)
        XCTAssertEqual(out[4][0], 0.1 * 1 + 0.05 * 5, accuracy: 1e-6)
        XCTAssertEqual(out[4][1], 0.1 * 10 + 0.05 * 50, accuracy: 1e-5)
    }

    func testTiesKeepTheLowerIndexAndNaNRanksLast() {
        // Tokens 1 and 3 tie; token 2 is NaN: keep 2 → tokens 1 then 3, whatever the NaN.
        XCTAssertEqual(select(scores: [0.3, .nan, 0.3, 0.1], kept: 2, fuses: false), [[0, 0], [1, 10], [3, 30]])
    }

    /// One head of width 2: the class token's query (1, 0) against keys (k, 0) gives scores
    /// k·scale; the weights are their softmax over all tokens, the class token's own included.
    func testClassAttentionIsTheClassTokensSoftmaxRowWithoutItself() {
        let keys: [Float] = [0.5, 1, 2, 0]
        let t = keys.count, c = 2
        var qkv = [Float](repeating: 0, count: t * 3 * c)
        qkv[0] = 1
        for (i, k) in keys.enumerated() { qkv[i * 3 * c + c] = k }
        var scratch = [Float](repeating: 0, count: TokenRemovalKernel.classAttentionScratchCount(tokens: t))
        var out = [Float](repeating: .nan, count: t - 1)
        TokenRemovalKernel.classAttention(qkv: qkv, tokens: t, heads: 1, headDim: c, scale: 0.5, scratch: &scratch,
                                          out: &out)
        let e = keys.map { exp(Double($0) * 0.5) }, sum = e.reduce(0, +)
        for j in 1..<t { XCTAssertEqual(Double(out[j - 1]), e[j] / sum, accuracy: 1e-6) }
    }
}
