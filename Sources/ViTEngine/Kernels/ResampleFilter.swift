/// The separable resampling filters shared by image preprocessing (PIL's `Image.resize`, which
/// timm's eval transforms use) and position-embedding interpolation (PyTorch's
/// `F.interpolate(..., antialias=True)`, which timm uses to resize a ViT's position grid). Both
/// compute the same normalized weights: the filter centred at `(i + 0.5) · scale` in the input,
/// its support widened by the scale when shrinking.
public enum ResampleFilter: String, Sendable, CaseIterable {
    /// Keys' cubic convolution with a = −0.5 (PIL's `BICUBIC`, PyTorch's antialiased bicubic), support 2.
    case bicubic
    /// The triangle filter (PIL's `BILINEAR`), support 1.
    case bilinear

    /// Half-width of the filter in input pixels at scale 1.
    var support: Double {
        switch self {
        case .bicubic: 2.0
        case .bilinear: 1.0
        }
    }

    /// The kernel, evaluated in the same order of operations as PIL so that the doubles agree.
    func weight(_ x: Double) -> Double {
        let x = x < 0 ? -x : x
        switch self {
        case .bicubic:
            let a = -0.5
            if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0.0
        case .bilinear:
            return x < 1.0 ? 1.0 - x : 0.0
        }
    }

    /// Taps of one output position.
    package struct Taps {
        /// The first input index read.
        package var first: Int
        /// Weights of inputs `first, first + 1, …`, summing to 1.
        package var weights: [Double]
    }

    /// The taps of every output position for `inSize → outSize` (PIL's `precompute_coeffs`).
    package func taps(inSize: Int, outSize: Int, positions: Range<Int>) -> [Taps] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = self.support * filterScale
        let inverseFilterScale = 1.0 / filterScale
        return positions.map { position in
            let center = (Double(position) + 0.5) * scale
            // C's (int) truncates toward zero, as Int(_:) does.
            let first = max(Int(center - support + 0.5), 0)
            let count = min(Int(center + support + 0.5), inSize) - first
            var weights = (0..<count).map { weight((Double($0 + first) - center + 0.5) * inverseFilterScale) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return Taps(first: first, weights: weights)
        }
    }

    /// Maximum number of taps of any output position for `inSize → outSize`.
    package func maximumTaps(inSize: Int, outSize: Int) -> Int {
        Int((support * max(Double(inSize) / Double(outSize), 1.0)).rounded(.up)) * 2 + 1
    }
}
