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

    /// Floats of scratch ``squeezeExcite(batch:x:channels:pixels:reduceWeight:reduceBias:reduced:expandWeight:expandBias:pool:scratch:out:)``
    /// needs (for the whole batch, used by the calling thread's share only).
    static func squeezeExciteScratchCount(batch: Int, channels: Int, reduced: Int) -> Int {
        batch * (2 * channels + reduced)
    }

    /// Squeeze-and-excitation on a batch, as timm's `SEModule`:
    /// `x · sigmoid(W2 · relu(W1 · mean(x) + b1) + b2)`, both 1×1 convs packed for the GEMM.
    /// The two small layers run as GEMMs over the batch's pooled vectors, so a batch reads each
    /// weight once, not once per image (and one image reads it as packed panels, in order).
    static func squeezeExcite(batch: Int, x: UnsafePointer<Float>, channels: Int, pixels: Int,
                              reduceWeight: UnsafePointer<Float>, reduceBias: UnsafePointer<Float>, reduced: Int,
                              expandWeight: UnsafePointer<Float>, expandBias: UnsafePointer<Float>,
                              pool: WorkerPool, scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let image = pixels * channels
        let pooled = scratch                    // [batch, channels]
        let hidden = pooled + batch * channels  // [batch, reduced]
        let gate = hidden + batch * reduced     // [batch, channels]
        pool.run(items: batch) { n, _ in
            averagePool(x: x + n * image, channels: channels, pixels: pixels, out: pooled + n * channels)
        }
        ConvolutionKernels.pointwise(x: pooled, rows: batch, cin: channels, weight: reduceWeight, bias: reduceBias,
                                     cout: reduced, activation: .relu, residual: nil, out: hidden)
        ConvolutionKernels.pointwise(x: hidden, rows: batch, cin: reduced, weight: expandWeight, bias: expandBias,
                                     cout: channels, activation: .identity, residual: nil, out: gate)
        for i in 0..<(batch * channels) { gate[i] = 1 / (1 + expf(-gate[i])) }
        pool.run(items: batch) { n, _ in
            vit_scale_columns(x + n * image, Int32(pixels), Int32(channels), gate + n * channels, out + n * image)
        }
    }
}
