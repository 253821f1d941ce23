import CKernels
import Foundation

/// Kernels that reduce over space: global average pooling, squeeze-and-excitation, the
/// classifier's fully connected layer. Images are channels-last (HWC).
enum ReductionKernels {
    /// `out[c] = mean over pixels of x[pixel, c]`.
    static func averagePool(x: UnsafePointer<Float>, channels: Int, pixels: Int,
                            out: UnsafeMutablePointer<Float>) {
        vit_column_mean(x, Int32(pixels), Int32(channels), out)
    }

    /// Squeeze-and-excitation on one image, as timm's `SEModule`:
    /// `x · sigmoid(W2 · relu(W1 · mean(x) + b1) + b2)`. `scratch` holds `2·channels + reduced` floats.
    static func squeezeExcite(x: UnsafePointer<Float>, channels: Int, pixels: Int,
                              reduceWeight: UnsafePointer<Float>, reduceBias: UnsafePointer<Float>,
                              reduced: Int,
                              expandWeight: UnsafePointer<Float>, expandBias: UnsafePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let pooled = scratch
        let hidden = scratch + channels
        let gate = hidden + reduced
        averagePool(x: x, channels: channels, pixels: pixels, out: pooled)
        hidden.update(from: reduceBias, count: reduced)
        BLAS.gemv(m: reduced, n: channels, a: reduceWeight, lda: channels, x: pooled, beta: 1, y: hidden)
        for r in 0..<reduced { hidden[r] = max(hidden[r], 0) }
        gate.update(from: expandBias, count: channels)
        BLAS.gemv(m: channels, n: reduced, a: expandWeight, lda: reduced, x: hidden, beta: 1, y: gate)
        for c in 0..<channels { gate[c] = 1 / (1 + expf(-gate[c])) }
        vit_scale_columns(x, Int32(pixels), Int32(channels), gate, out)
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
