import Foundation

/// Kernels that reduce over space: global average pooling, squeeze-and-excitation, the
/// classifier's fully connected layer.
enum ReductionKernels {
    /// `out[c] = mean(x[c, :])` for a `[channels, pixels]` image.
    static func averagePool(x: UnsafePointer<Float>, channels: Int, pixels: Int,
                            out: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(pixels)
        for c in 0..<channels {
            let plane = x + c * pixels
            var sum: Float = 0
            for p in 0..<pixels { sum += plane[p] }
            out[c] = sum * inv
        }
    }

    /// Squeeze-and-excitation on one `[channels, pixels]` image, as timm's `SEModule`:
    /// `x · sigmoid(W2 · relu(W1 · mean(x) + b1) + b2)`. `scratch` holds `channels + reduced` floats.
    static func squeezeExcite(x: UnsafePointer<Float>, channels: Int, pixels: Int,
                              reduceWeight: UnsafePointer<Float>, reduceBias: UnsafePointer<Float>,
                              reduced: Int,
                              expandWeight: UnsafePointer<Float>, expandBias: UnsafePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let pooled = scratch
        let hidden = scratch + channels
        averagePool(x: x, channels: channels, pixels: pixels, out: pooled)
        for r in 0..<reduced {
            let w = reduceWeight + r * channels
            var s = reduceBias[r]
            for c in 0..<channels { s += w[c] * pooled[c] }
            hidden[r] = max(s, 0)
        }
        for c in 0..<channels {
            let w = expandWeight + c * reduced
            var s = expandBias[c]
            for r in 0..<reduced { s += w[r] * hidden[r] }
            let gate = 1 / (1 + expf(-s))
            let src = x + c * pixels
            let dst = out + c * pixels
            for p in 0..<pixels { dst[p] = src[p] * gate }
        }
    }

    /// `out = W · x + b` for one row; `W` is `[outFeatures, inFeatures]`. One call per image
    /// (not one GEMM over the batch) so an image's logits do not depend on what it is batched
    /// with: BLAS may pick other kernels, and so other roundings, for other matrix sizes.
    static func linear(x: UnsafePointer<Float>, inFeatures: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outFeatures: Int,
                       out: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transposeB: true, m: 1, n: outFeatures, k: inFeatures,
                  a: x, lda: inFeatures, b: weight, ldb: inFeatures, beta: 0, c: out, ldc: outFeatures)
        for j in 0..<outFeatures { out[j] += bias[j] }
    }
}
