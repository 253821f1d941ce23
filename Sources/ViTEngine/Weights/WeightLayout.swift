import CKernels

/// Reorders PyTorch weight tensors into the layouts the channels-last kernels read.
enum WeightLayout {
    /// How a convolution's weight is stored for its kernel.
    enum Convolution {
        /// `[cout, cin]` → `[cin, cout]` packed in panels of 32 output channels (see
        /// `vit_pack_weights`): 1×1 convs, read by the packed GEMM.
        case pointwise
        /// `[cout, cin, k, k]` → `[cout, k, k, cin]`, matching the channels-last input band the
        /// convolution reads, then transposed and packed like a 1×1 conv's weight. The stride
        /// decides whether the layer also gets ``WeightLayout/outerRowsSumCount(inChannels:outChannels:as:)``.
        case dense(kernel: Int, stride: Int = 1)
        /// `[c, 1, k, k]` → `[k·k, c]`: each tap's weights contiguous across channels.
        case depthwise(kernel: Int)
    }

    /// Floats a weight of `count` floats takes in `layout`.
    static func storedCount(_ count: Int, outChannels: Int, as layout: Convolution) -> Int {
        switch layout {
        case .pointwise, .dense: vit_packed_weights_count(Int32(count / outChannels), Int32(outChannels))
        case .depthwise: count
        }
    }

    /// Writes the PyTorch-layout weight `w` in `layout` to `out` (``storedCount(_:outChannels:as:)``
    /// floats), straight from `w`: no intermediate copy of a large layer.
    static func write(_ w: [Float], outChannels: Int, as layout: Convolution, to out: UnsafeMutablePointer<Float>) {
        switch layout {
        case .pointwise:
            vit_pack_torch_weights(w, Int32(outChannels), Int32(w.count / outChannels), 1, out)
        case let .dense(k, _):
            vit_pack_torch_weights(w, Int32(outChannels), Int32(w.count / (outChannels * k * k)), Int32(k), out)
        case let .depthwise(k):
            for c in 0..<outChannels {
                for tap in 0..<(k * k) { out[tap * outChannels + c] = w[c * k * k + tap] }
            }
        }
    }

    /// Floats of the second tensor a 3×3 stride-2 convolution stores when its kernel computes
    /// output rows in pairs (`vit_conv2d_uses_row_pairs`): the sum of the packed weight's first
    /// and last kernel rows (`vit_pack_outer_rows_sum`). `nil` for every other layout and shape,
    /// which need nothing more.
    static func outerRowsSumCount(inChannels cin: Int, outChannels cout: Int, as layout: Convolution) -> Int? {
        guard case let .dense(kernel, stride) = layout,
              vit_conv2d_uses_row_pairs(Int32(cin), Int32(kernel), Int32(stride)) != 0 else { return nil }
        return vit_packed_weights_count(Int32(3 * cin), Int32(cout))
    }
}
