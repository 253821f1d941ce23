import Foundation

/// Folds inference-mode BatchNorm into the neighbouring convolution or linear layer, exactly as
/// the reference `ConvNorm.fuse()` / `NormLinear.fuse()` do, so no normalization runs at inference.
/// Products are formed in double precision and rounded once.
enum BatchNormFolding {
    /// PyTorch's default `BatchNorm2d` / `BatchNorm1d` epsilon, used by every EfficientViT norm.
    static let epsilon = 1e-5

    /// Per-channel `scale = γ / √(var + ε)` and `shift = β − mean · scale`.
    static func scaleShift(_ t: CheckpointTensors, norm prefix: String) -> (scale: [Double], shift: [Double]) {
        let gamma = t[prefix + ".weight"], beta = t[prefix + ".bias"]
        let mean = t[prefix + ".running_mean"], variance = t[prefix + ".running_var"]
        var scale = [Double](repeating: 0, count: gamma.count)
        var shift = scale
        for c in 0..<gamma.count {
            scale[c] = Double(gamma[c]) / (Double(variance[c]) + epsilon).squareRoot()
            shift[c] = Double(beta[c]) - Double(mean[c]) * scale[c]
        }
        return (scale, shift)
    }

    /// A convolution followed by BatchNorm (timm `ConvNorm`: children `conv` and `bn`) → the
    /// weight scaled per output channel and a bias.
    static func convNorm(_ t: CheckpointTensors, _ prefix: String) -> (weight: [Float], bias: [Float]) {
        convNorm(t, weight: prefix + ".conv.weight", norm: prefix + ".bn")
    }

    /// A convolution (weight tensor `weight`, and its bias tensor `bias` if it has one) followed
    /// by the BatchNorm at `norm`: `scale · (W·x + b) + shift`. `outputScale` (a LayerScale γ
    /// after the norm) multiplies each output channel too, in the same double-precision product.
    static func convNorm(_ t: CheckpointTensors, weight: String, bias: String? = nil, norm: String,
                         outputScale: [Float]? = nil) -> (weight: [Float], bias: [Float]) {
        let w = t[weight]
        var (scale, shift) = scaleShift(t, norm: norm)
        if let bias {
            for (c, b) in t[bias].enumerated() { shift[c] += scale[c] * Double(b) }
        }
        if let g = outputScale {
            for c in scale.indices {
                scale[c] *= Double(g[c])
                shift[c] *= Double(g[c])
            }
        }
        let perChannel = w.count / scale.count
        var folded = [Float](repeating: 0, count: w.count)
        for c in 0..<scale.count {
            for i in 0..<perChannel {
                folded[c * perChannel + i] = Float(Double(w[c * perChannel + i]) * scale[c])
            }
        }
        return (folded, shift.map { Float($0) })
    }

    /// BatchNorm1d followed by a linear layer (timm `NormLinear`: `bn`, `linear`):
    /// `W' = W · diag(scale)`, `b' = W · shift + b`.
    static func normLinear(_ t: CheckpointTensors, _ prefix: String) -> (weight: [Float], bias: [Float]) {
        let w = t[prefix + ".linear.weight"], b = t[prefix + ".linear.bias"]
        let (scale, shift) = scaleShift(t, norm: prefix + ".bn")
        let k = scale.count, m = b.count
        var folded = [Float](repeating: 0, count: w.count)
        var bias = [Float](repeating: 0, count: m)
        for row in 0..<m {
            var acc = Double(b[row])
            for j in 0..<k {
                let v = Double(w[row * k + j])
                folded[row * k + j] = Float(v * scale[j])
                acc += v * shift[j]
            }
            bias[row] = Float(acc)
        }
        return (folded, bias)
    }
}
