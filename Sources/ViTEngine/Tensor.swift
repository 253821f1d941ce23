/// A dense float32 tensor in row-major (C) order: the engine's input and output type.
///
/// Images enter as `N×3×H×W` (NCHW, as PyTorch), logits leave as `N×classes`.
public struct Tensor: Sendable, Equatable {
    /// The extent of each dimension, outermost first.
    public var shape: [Int]
    /// The elements in row-major order; `values.count == shape.reduce(1, *)`.
    public var values: [Float]

    /// Creates a tensor; the number of values must equal the product of the shape.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "Tensor shape \(shape) does not match \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// The number of elements.
    public var count: Int { values.count }
}
