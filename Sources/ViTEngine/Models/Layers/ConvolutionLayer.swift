/// Output size of a k×k convolution or pooling along one axis, as PyTorch computes it.
func convolutionOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
    (size + 2 * padding - kernel) / stride + 1
}

extension GraphBuilder {
    /// A dense convolution (groups = 1, BatchNorm folded into `conv`) with its activation, from
    /// `x` (`[N, C, H, W]`, the caller's input, when `channelsLast` is false; else `[N, H, W, C]`)
    /// to `[N, H', W', outChannels]`; the output shape and the kernel's scratch follow from
    /// `x`'s shape.
    mutating func convolution(_ conv: FoldedConv, _ x: ValueID, kernel: Int, stride: Int, padding: Int,
                              activation: Activation, channelsLast: Bool = true, label: String) -> ValueID {
        let s = shape(x)
        let (cin, height, width) = channelsLast ? (s[3], s[1], s[2]) : (s[1], s[2], s[3])
        let oh = convolutionOutputSize(height, kernel: kernel, stride: stride, padding: padding)
        let ow = convolutionOutputSize(width, kernel: kernel, stride: stride, padding: padding)
        return add(.convolution(weight: conv.weight, bias: conv.bias, kernel: kernel, stride: stride, padding: padding,
                                activation: activation, channelsLast: channelsLast),
                   input: x, outputShape: [s[0], oh, ow, conv.outChannels],
                   scratch: ConvolutionKernels.denseScratchCount(cin: cin, width: width, kernel: kernel, stride: stride,
                                                                 padding: padding, outputRows: oh),
                   label: label)
    }
}
