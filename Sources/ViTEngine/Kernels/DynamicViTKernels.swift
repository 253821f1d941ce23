import CKernels
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
        // The column means of all of `h` go to row 0 (its first half is overwritten next); the
        // second half's are the context every row gets.
        vit_column_mean(h, Int32(t), Int32(c), out)
        for n in 0..<t {
            if n > 0 { (out + n * c + half).update(from: out + half, count: c - half) }
            (out + n * c).update(from: h + n * c, count: half)
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
