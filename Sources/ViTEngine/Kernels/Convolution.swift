import CKernels

/// Convolution kernels on channels-last (HWC) images. Bias, activation and residual are applied
/// in the same pass that produces each output, so no layer makes a second sweep over its output.
enum ConvolutionKernels {
    /// 1×1 convolution of a block of pixels: with pixels as rows the layer is one GEMM
    /// `out[rows × cout] = act(x[rows × cin] · W[cin × cout] + bias + residual)` against the
    /// weight packed at load, the epilogue applied as tiles are stored (the residual possibly in place).
    /// `panel` selects the first output column's panel (columns come in panels of 32).
    static func pointwise(x: UnsafePointer<Float>, rows: Int, cin: Int, ldx: Int? = nil,
                          weight: UnsafePointer<Float>, firstColumn: Int = 0, bias: UnsafePointer<Float>,
                          cout: Int, activation: Activation, residual: UnsafePointer<Float>?,
                          out: UnsafeMutablePointer<Float>, ldOut: Int? = nil) {
        precondition(firstColumn % 32 == 0 && cout % 16 == 0, "1×1 conv blocks start on a panel")
        let ldx = ldx ?? cin, ldOut = ldOut ?? cout
        vit_gemm_packed(Int32(rows), Int32(cout), Int32(cin), x, ldx, weight + firstColumn * cin,
                        bias, activation.code, residual, ldOut, out, ldOut)
    }

    /// Output rows `outputRows` of a dense convolution (groups = 1): im2col of those rows into
    /// `scratch` (`rows · outWidth × k·k·cin` floats) and one GEMM with the weight reordered to
    /// `[cout, k, k, cin]` (packed for the 1×1 convs' GEMM when `cout` is a multiple of 16,
    /// else through OpenBLAS). The input is HWC, or CHW for the stem, which reads the caller's NCHW
    /// batch directly; `out` is the whole HWC output image.
    static func dense(x: UnsafePointer<Float>, channelsLast: Bool, cin: Int, height: Int, width: Int,
                      weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, cout: Int,
                      kernel: Int, stride: Int, padding: Int, activation: Activation, outputRows: Range<Int>,
                      scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let ow = (width + 2 * padding - kernel) / stride + 1
        let kdim = kernel * kernel * cin
        for oy in outputRows {
            for ox in 0..<ow {
                let row = scratch + ((oy - outputRows.lowerBound) * ow + ox) * kdim
                for ky in 0..<kernel {
                    let iy = oy * stride - padding + ky
                    for kx in 0..<kernel {
                        let ix = ox * stride - padding + kx
                        let dst = row + (ky * kernel + kx) * cin
                        if iy < 0 || iy >= height || ix < 0 || ix >= width {
                            dst.update(repeating: 0, count: cin)
                        } else if channelsLast {
                            dst.update(from: x + (iy * width + ix) * cin, count: cin)
                        } else {
                            for c in 0..<cin { dst[c] = x[(c * height + iy) * width + ix] }
                        }
                    }
                }
            }
        }
        let pixels = outputRows.count * ow
        let dst = out + outputRows.lowerBound * ow * cout
        if WeightLayout.packedGEMM(outChannels: cout) {
            vit_gemm_packed(Int32(pixels), Int32(cout), Int32(kdim), scratch, kdim, weight, bias,
                            activation.code, nil, cout, dst, cout)
        } else {
            BLAS.gemm(transposeB: true, m: pixels, n: cout, k: kdim, a: scratch, lda: kdim, b: weight, ldb: kdim,
                      beta: 0, c: dst, ldc: cout)
            vit_bias_activation(dst, Int32(pixels), Int32(cout), Int32(cout), bias, activation.code)
        }
    }

    /// Depthwise convolution, zero padding `kernel / 2`, weight tap-major `[k·k, channels]`.
    /// `residual` is added before the activation; it must not share memory with `x`.
    static func depthwise(x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                          kernel: Int, stride: Int, activation: Activation,
                          residual: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                          outputRows: Range<Int>? = nil) {
        let rows = outputRows ?? 0..<((height + 2 * (kernel / 2) - kernel) / stride + 1)
        vit_depthwise_hwc(x, Int32(height), Int32(width), Int32(channels), weight, bias, Int32(kernel),
                          Int32(stride), activation == .relu ? 1 : 0, residual, out,
                          Int32(rows.lowerBound), Int32(rows.upperBound))
    }
}
