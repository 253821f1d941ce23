import Foundation

/// DynamicViT's predictor context (see `DynamicViT.swift`) of one image: `h` `[1 + T', C]` (the
/// class token's row first, not read) → `[T', C]`, each token's first `C/2` channels followed by
/// the mean over the `T'` tokens of their last `C/2`.
struct DynamicViTTokenContext: FamilyOperation {
    var kind: String { "token removal" }
    func macsPerImage(input: [Int], output: [Int]) -> Int { 0 }
    func itemsPerImage(input: [Int], output: [Int]) -> Int { 1 }

    func run(item: Int, _ image: FamilyOperationImage) {
        let t = image.outputShape[1], c = image.outputShape[2], half = c / 2
        let h = image.x + c, out = image.out
        // The mean of the second halves, summed token by token as the reference's `sum(dim=1)`.
        let mean = out + half  // built in row 0's second half, then copied to every row
        mean.initialize(repeating: 0, count: c - half)
        for n in 0..<t {
            for i in 0..<(c - half) { mean[i] += h[n * c + half + i] }
        }
        for i in 0..<(c - half) { mean[i] /= Float(t) }
        for n in 0..<t {
            (out + n * c).update(from: h + n * c, count: half)
            if n > 0 { (out + n * c + half).update(from: mean, count: c - half) }
        }
    }
}

/// DynamicViT's keep score of every token: the first entry of the log-softmax of its two logits
/// `[T', 2]` → `[T', 1]`.
struct DynamicViTScores: FamilyOperation {
    var kind: String { "token removal" }
    func macsPerImage(input: [Int], output: [Int]) -> Int { 0 }
    func itemsPerImage(input: [Int], output: [Int]) -> Int { 1 }

    func run(item: Int, _ image: FamilyOperationImage) {
        let t = image.outputShape[1]
        for n in 0..<t {
            let keep = image.x[2 * n], drop = image.x[2 * n + 1]
            let largest = max(keep, drop)
            image.out[n] = keep - largest - Foundation.log(Foundation.exp(keep - largest) + Foundation.exp(drop - largest))
        }
    }
}
