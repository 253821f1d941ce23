import CKernels

/// Convolution kernels on channels-last (HWC) images. Bias, activation and residual are applied
/// in the same pass that produces each output, so no layer makes a second sweep over its output.
enum ConvolutionKernels {
    /// 1×1 convolution of a block of pixels: with pixels as rows the layer is one GEMM
    /// `out[rows × cout] = act(x[rows × cin] · W[cin × cout] + bias + residual)` against the
    /// weight packed at load, the epilogue applied as tiles are stored (the residual possibly in place).
    /// `firstColumn` is the first output column, on a panel of the packed weight
    /// (``KernelGeometry/panelColumns`` columns each).
    static func pointwise(x: UnsafePointer<Float>, rows: Int, cin: Int, ldx: Int? = nil,
                          weight: UnsafePointer<Float>, firstColumn: Int = 0, bias: UnsafePointer<Float>,
                          cout: Int, activation: Activation, residual: UnsafePointer<Float>?,
                          out: UnsafeMutablePointer<Float>, ldOut: Int? = nil) {
        precondition(firstColumn % KernelGeometry.panelColumns == 0, "1×1 conv blocks start on a panel")
        let ldx = ldx ?? cin, ldOut = ldOut ?? cout
        vit_gemm_packed(Int32(rows), Int32(cout), Int32(cin), x, ldx, weight + firstColumn * cin,
                        bias, activation.code, residual, ldOut, out, ldOut)
    }

    /// Output rows `outputRows` of a dense convolution (groups = 1) as an implicit GEMM: the
    /// input rows they read are copied once into `scratch` as a zero-padded channels-last band
    /// (``denseScratchCount(cin:width:kernel:stride:padding:cout:outputRows:)`` floats), and each
    /// output row is a GEMM over that band against the weight reordered to `[cout, k, k, cin]` and
    /// packed like a 1×1 conv's, with no im2col copy. The input is HWC, or CHW for the stem, which
    /// reads the caller's NCHW batch directly. The first output row goes to `out`, each next one
    /// `outRowStride` floats further (HWC rows). With
    /// `outerRowsSum` (a 3×3 stride-2 layer's, see ``WeightLayout``) output rows are computed in
    /// pairs that share a product: 15 multiply-adds per pair of outputs and input channel, not 18.
    /// An RGB stem into 8 or 24 channels runs vectorized over output pixels instead (same bits).
    static func dense(x: UnsafePointer<Float>, channelsLast: Bool, cin: Int, height: Int, width: Int,
                      weight: UnsafePointer<Float>, outerRowsSum: UnsafePointer<Float>?, bias: UnsafePointer<Float>, cout: Int,
                      kernel: Int, stride: Int, padding: Int, activation: Activation, outputRows: Range<Int>,
                      scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, outRowStride: Int) {
        vit_conv2d_packed_rows(x, channelsLast ? 1 : 0, Int32(height), Int32(width), Int32(cin), Int32(kernel),
                               Int32(stride), Int32(padding), weight, outerRowsSum, bias, Int32(cout), activation.code,
                               Int32(outputRows.lowerBound), Int32(outputRows.upperBound), scratch, out, outRowStride)
    }

    /// ``dense(x:channelsLast:cin:height:width:weight:outerRowsSum:bias:cout:kernel:stride:padding:activation:outputRows:scratch:out:outRowStride:)``
    /// on a channels-last input already laid out as the band those rows read: `band` starts at
    /// input row `outputRows.lowerBound · stride − padding`, rows of `(width + 2·padding)·cin`
    /// floats whose padding pixels (and rows outside the image) are zero. `scratch` holds
    /// ``bandScratchCount(cin:width:kernel:stride:padding:cout:)`` floats.
    static func band(_ band: UnsafePointer<Float>, cin: Int, width: Int, weight: UnsafePointer<Float>,
                     outerRowsSum: UnsafePointer<Float>?, bias: UnsafePointer<Float>, cout: Int, kernel: Int, stride: Int,
                     padding: Int, activation: Activation, outputRows: Range<Int>, scratch: UnsafeMutablePointer<Float>,
                     out: UnsafeMutablePointer<Float>, outRowStride: Int) {
        vit_conv2d_band_rows(band, Int32(width), Int32(cin), Int32(kernel), Int32(stride), Int32(padding), weight,
                             outerRowsSum, bias, Int32(cout), activation.code, Int32(outputRows.lowerBound),
                             Int32(outputRows.upperBound), scratch, out, outRowStride)
    }

    /// Scratch floats ``band(_:cin:width:weight:outerRowsSum:bias:cout:kernel:stride:padding:activation:outputRows:scratch:out:outRowStride:)``
    /// needs beside the band.
    static func bandScratchCount(cin: Int, width: Int, kernel: Int, stride: Int, padding: Int, cout: Int) -> Int {
        vit_conv2d_band_scratch_count(Int32(cin), Int32(width), Int32(kernel), Int32(stride), Int32(padding), Int32(cout))
    }

    /// Output rows of a dense convolution a work item computes at most (``dense``'s blocks).
    static let denseRowsPerItem = 8

    /// Scratch floats one thread needs for ``dense`` on blocks of up to ``denseRowsPerItem`` of
    /// `outputRows` output rows.
    static func denseScratchCount(cin: Int, width: Int, kernel: Int, stride: Int, padding: Int, cout: Int,
                                  outputRows: Int) -> Int {
        vit_conv2d_scratch_count(Int32(cin), Int32(width), Int32(kernel), Int32(stride), Int32(padding), Int32(cout),
                                 Int32(min(outputRows, denseRowsPerItem)))
    }

    /// Depthwise convolution, zero padding `kernel / 2`, weight tap-major `[k·k, channels]`.
    /// `residual` is added before the activation, `then` (per-channel scale and shift) applied
    /// after it; `residual` may be `out` itself (in place) but must not share memory with `x`.
    /// Input pixels are `ldx` floats apart (default `channels`), output pixels `channels`.
    static func depthwise(x: UnsafePointer<Float>, ldx: Int? = nil, channels: Int, height: Int, width: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                          kernel: Int, stride: Int, activation: Activation,
                          then affine: (scale: UnsafePointer<Float>, shift: UnsafePointer<Float>)? = nil,
                          residual: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                          outputRows: Range<Int>? = nil) {
        let rows = outputRows ?? 0..<((height + 2 * (kernel / 2) - kernel) / stride + 1)
        vit_depthwise_hwc(x, ldx ?? channels, Int32(height), Int32(width), Int32(channels), weight, bias, Int32(kernel),
                          Int32(stride), activation.code, affine?.scale, affine?.shift, residual, out,
                          Int32(rows.lowerBound), Int32(rows.upperBound))
    }
}
