import CKernels

/// A convolution (or linear layer) with BatchNorm folded in, as stored for its kernel.
struct FoldedConv: Sendable {
    var weight: ParamID
    var bias: ParamID
    var outChannels: Int
    /// A 3×3 stride-2 layer's weight summed over its outer kernel rows, when its kernel computes
    /// output rows in pairs (see ``WeightLayout/outerRowsSumCount(inChannels:outChannels:as:)``).
    var outerRowsSum: ParamID? = nil
}

extension ParameterStoreBuilder {
    /// Stores a PyTorch-layout weight (`[cout, cin]` or `[cout, cin, k, k]`) in `layout`, written
    /// straight into the store.
    mutating func add(_ w: [Float], outChannels: Int, as layout: WeightLayout.Convolution, name: String) -> ParamID {
        add(count: WeightLayout.storedCount(w.count, outChannels: outChannels, as: layout), name: name) { out in
            WeightLayout.write(w, outChannels: outChannels, as: layout, to: out)
        }
    }

    /// Stores a folded convolution's PyTorch-layout weight (`[cout, cin, k, k]`) in `layout` and
    /// its bias (`cout` values), with the outer-rows sum a stride-2 3×3 layer's kernel reads.
    mutating func convolution(weight w: [Float], bias b: [Float], as layout: WeightLayout.Convolution,
                              name: String) -> FoldedConv {
        var kernelArea = 1
        if case let .dense(k, _) = layout { kernelArea = k * k }
        let cin = w.count / (b.count * kernelArea)
        guard let outerCount = WeightLayout.outerRowsSumCount(inChannels: cin, outChannels: b.count, as: layout) else {
            return FoldedConv(weight: add(w, outChannels: b.count, as: layout, name: name + ".weight"),
                              bias: add(b, name: name + ".bias"), outChannels: b.count)
        }
        // The sum is made from the stored weight: both in place before the block may move.
        reserve(for: [WeightLayout.storedCount(w.count, outChannels: b.count, as: layout), outerCount])
        let weight = add(w, outChannels: b.count, as: layout, name: name + ".weight")
        let packed = pointer(weight)
        let outer = add(count: outerCount, name: name + ".weight.outer_rows_sum") { out in
            vit_pack_outer_rows_sum(packed, Int32(cin), Int32(b.count), out)
        }
        return FoldedConv(weight: weight, bias: add(b, name: name + ".bias"), outChannels: b.count, outerRowsSum: outer)
    }
}

/// Channels, height and width of one image of a dense convolution's input: `[N, C, H, W]` (the
/// caller's planar image, the stem) unless `channelsLast` (`[N, H, W, C]`, after it).
func convolutionInput(_ shape: [Int], channelsLast: Bool) -> (channels: Int, height: Int, width: Int) {
    channelsLast ? (shape[3], shape[1], shape[2]) : (shape[1], shape[2], shape[3])
}

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
        let (cin, height, width) = convolutionInput(s, channelsLast: channelsLast)
        let oh = convolutionOutputSize(height, kernel: kernel, stride: stride, padding: padding)
        let ow = convolutionOutputSize(width, kernel: kernel, stride: stride, padding: padding)
        precondition(conv.outerRowsSum == nil || (kernel == 3 && stride == 2),
                     "\(label): weights stored for a 3×3 stride-2 layer used with kernel \(kernel), stride \(stride)")
        return add(.convolution(weight: conv.weight, outerRowsSum: conv.outerRowsSum, bias: conv.bias, kernel: kernel,
                                stride: stride, padding: padding, activation: activation, channelsLast: channelsLast),
                   input: x, outputShape: [s[0], oh, ow, conv.outChannels],
                   scratch: ConvolutionKernels.denseScratchCount(cin: cin, width: width, kernel: kernel, stride: stride,
                                                                 padding: padding, cout: conv.outChannels, outputRows: oh),
                   label: label)
    }
}
