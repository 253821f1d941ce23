import Foundation

/// Convolution kernels on one image in CHW layout. Bias, activation and residual are applied in
/// the same pass that produces each output, so no layer makes a second sweep over its output.
enum ConvolutionKernels {
    /// 1×1 convolution `out = W · x + b (+ residual)` as one GEMM: `W` is `[cout, cin]`, `x` is
    /// `[cin, pixels]`, so the CHW layout needs no transpose. When a residual is given it is
    /// first placed in `out` (a no-op when the planner put them in the same slot) and the GEMM
    /// accumulates onto it with `beta = 1`.
    static func pointwise(x: UnsafePointer<Float>, cin: Int, pixels: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, cout: Int,
                          activation: Activation, residual: UnsafePointer<Float>?,
                          out: UnsafeMutablePointer<Float>) {
        if let residual {
            precondition(activation == .identity, "a residual follows the activation only when there is none")
            if UnsafePointer(out) != residual { out.update(from: residual, count: cout * pixels) }
            BLAS.gemm(m: cout, n: pixels, k: cin, a: weight, lda: cin, b: x, ldb: pixels,
                      beta: 1, c: out, ldc: pixels)
        } else {
            BLAS.gemm(m: cout, n: pixels, k: cin, a: weight, lda: cin, b: x, ldb: pixels,
                      beta: 0, c: out, ldc: pixels)
        }
        applyBias(out, bias: bias, rows: cout, columns: pixels, activation: activation)
    }

    /// Dense convolution (groups = 1) by im2col into `scratch` (`cin·k·k × outPixels` floats)
    /// followed by one GEMM with the `[cout, cin·k·k]` weight.
    static func dense(x: UnsafePointer<Float>, cin: Int, height: Int, width: Int,
                      weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, cout: Int,
                      kernel: Int, stride: Int, padding: Int, activation: Activation,
                      scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let oh = (height + 2 * padding - kernel) / stride + 1
        let ow = (width + 2 * padding - kernel) / stride + 1
        let pixels = oh * ow
        var row = 0
        for c in 0..<cin {
            let plane = x + c * height * width
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let dst = scratch + row * pixels
                    for oy in 0..<oh {
                        let iy = oy * stride - padding + ky
                        let line = dst + oy * ow
                        if iy < 0 || iy >= height {
                            line.update(repeating: 0, count: ow)
                            continue
                        }
                        for ox in 0..<ow {
                            let ix = ox * stride - padding + kx
                            line[ox] = (ix >= 0 && ix < width) ? plane[iy * width + ix] : 0
                        }
                    }
                    row += 1
                }
            }
        }
        let kdim = cin * kernel * kernel
        BLAS.gemm(m: cout, n: pixels, k: kdim, a: weight, lda: kdim, b: scratch, ldb: pixels,
                  beta: 0, c: out, ldc: pixels)
        applyBias(out, bias: bias, rows: cout, columns: pixels, activation: activation)
    }

    /// Depthwise convolution, zero padding `kernel / 2`, weight `[channels, 1, k, k]`.
    /// `residual` (same shape as the output) is added after bias and activation; it must not
    /// share memory with `x`, whose neighbours are still being read.
    static func depthwise(x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                          kernel: Int, stride: Int, activation: Activation,
                          residual: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>) {
        let pad = kernel / 2
        let oh = (height + 2 * pad - kernel) / stride + 1
        let ow = (width + 2 * pad - kernel) / stride + 1
        for c in 0..<channels {
            let plane = x + c * height * width
            let w = weight + c * kernel * kernel
            let dst = out + c * oh * ow
            let res = residual.map { $0 + c * oh * ow }
            let b = bias[c]
            for oy in 0..<oh {
                let y0 = oy * stride - pad
                let kyLo = max(0, -y0), kyHi = min(kernel, height - y0)
                for ox in 0..<ow {
                    let x0 = ox * stride - pad
                    let kxLo = max(0, -x0), kxHi = min(kernel, width - x0)
                    var sum: Float = 0
                    if kyLo < kyHi && kxLo < kxHi {
                        for ky in kyLo..<kyHi {
                            let src = plane + (y0 + ky) * width + x0
                            let wr = w + ky * kernel
                            for kx in kxLo..<kxHi { sum += src[kx] * wr[kx] }
                        }
                    }
                    var v = sum + b
                    if activation == .relu { v = max(v, 0) }
                    if let res { v += res[oy * ow + ox] }
                    dst[oy * ow + ox] = v
                }
            }
        }
    }

    /// Adds a per-row bias and applies the activation over a `rows × columns` matrix.
    static func applyBias(_ m: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                          rows: Int, columns: Int, activation: Activation) {
        for r in 0..<rows {
            let line = m + r * columns
            let b = bias[r]
            switch activation {
            case .identity:
                for j in 0..<columns { line[j] += b }
            case .relu:
                for j in 0..<columns { line[j] = max(line[j] + b, 0) }
            }
        }
    }
}
