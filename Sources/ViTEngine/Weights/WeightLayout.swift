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
        /// decides whether the layer also gets ``WeightLayout/outerRowsSum(packed:inChannels:outChannels:as:)``.
        case dense(kernel: Int, stride: Int = 1)
        /// `[c, 1, k, k]` → `[k·k, c]`: each tap's weights contiguous across channels.
        case depthwise(kernel: Int)
    }

    /// `[cout, k]` → `[k, cout]` packed in 32-column panels for `vit_gemm_packed`.
    private static func packed(_ w: [Float], outChannels: Int) -> [Float] {
        let k = w.count / outChannels
        var transposed = [Float](repeating: 0, count: w.count)
        for o in 0..<outChannels {
            for c in 0..<k { transposed[c * outChannels + o] = w[o * k + c] }
        }
        var packed = [Float](repeating: 0, count: vit_packed_weights_count(Int32(k), Int32(outChannels)))
        vit_pack_weights(transposed, Int32(k), Int32(outChannels), &packed)
        return packed
    }

    static func reorder(_ w: [Float], outChannels: Int, as layout: Convolution) -> [Float] {
        switch layout {
        case .pointwise:
            return packed(w, outChannels: outChannels)
        case let .dense(k, _):
            let cin = w.count / (outChannels * k * k)
            var out = [Float](repeating: 0, count: w.count)
            for o in 0..<outChannels {
                for c in 0..<cin {
                    for tap in 0..<(k * k) {
                        out[(o * k * k + tap) * cin + c] = w[(o * cin + c) * k * k + tap]
                    }
                }
            }
            return packed(out, outChannels: outChannels)
        case let .depthwise(k):
            var out = [Float](repeating: 0, count: w.count)
            for c in 0..<outChannels {
                for tap in 0..<(k * k) { out[tap * outChannels + c] = w[c * k * k + tap] }
            }
            return out
        }
    }

    /// The second tensor a 3×3 stride-2 convolution stores when its kernel computes output rows
    /// in pairs (`vit_conv2d_uses_row_pairs`): the sum of the packed weight's first and last
    /// kernel rows. `nil` for every other layout and shape, which need nothing more.
    static func outerRowsSum(packed: [Float], inChannels cin: Int, outChannels cout: Int,
                             as layout: Convolution) -> [Float]? {
        guard case let .dense(kernel, stride) = layout,
              vit_conv2d_uses_row_pairs(Int32(cin), Int32(kernel), Int32(stride)) != 0 else { return nil }
        var sum = [Float](repeating: 0, count: vit_packed_weights_count(Int32(3 * cin), Int32(cout)))
        vit_pack_outer_rows_sum(packed, Int32(cin), Int32(cout), &sum)
        return sum
    }
}
