import Foundation

/// The most probable classes of one image: softmax over its logits, best first.
public struct TopClasses: Sendable, Equatable {
    /// Class indices, most probable first.
    public let indices: [Int]
    /// Softmax probabilities of those classes (over all classes).
    public let probabilities: [Double]
    /// Names of those classes (`labels[index]`, or `"class N"` when no name is known).
    public let labels: [String]

    /// The `k` most probable classes of `logits` (one image's row). Ties keep the lower index
    /// first, as a stable sort does.
    public init<Logits: RandomAccessCollection>(logits: Logits, k: Int, labels names: [String])
    where Logits.Element == Float, Logits.Index == Int {
        let values = Array(logits)
        let largest = values.max() ?? 0
        // Softmax in double precision, shifted by the maximum so exp cannot overflow.
        let exponentials = values.map { exp(Double($0) - Double(largest)) }
        let total = exponentials.reduce(0, +)
        let order = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
        let top = Array(order.prefix(max(0, k)))
        indices = top
        probabilities = top.map { exponentials[$0] / total }
        labels = top.map { names.indices.contains($0) ? names[$0] : "class \($0)" }
    }

    /// One row per image of a `[N, classes]` logits tensor.
    public static func rows(of logits: [Float], classes: Int, k: Int, labels: [String]) -> [TopClasses] {
        guard classes > 0 else { return [] }
        return stride(from: 0, to: logits.count, by: classes).map {
            TopClasses(logits: logits[$0..<($0 + classes)], k: k, labels: labels)
        }
    }
}
