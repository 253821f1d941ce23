import CKernels
import Foundation

/// Kernels that reduce over space: global average pooling and squeeze-and-excitation. Images are
/// channels-last (HWC).
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
}
