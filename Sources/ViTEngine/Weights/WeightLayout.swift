import CKernels

/// Reorders PyTorch weight tensors into the layouts the channels-last kernels read.
enum WeightLayout {
    /// How a convolution's weight is stored for its kernel.
    enum Convolution {
        /// `[cout, cin]` → `[cin, cout]` packed in panels of 32 output channels (see
        /// `vit_pack_weights`): 1×1 convs, read by the packed GEMM.
        case pointwise
        /// `[cout, cin, k, k]` → `[cout, k, k, cin]`, matching the channels-last im2col rows.
        case dense(kernel: Int)
        /// `[c, 1, k, k]` → `[k·k, c]`: each tap's weights contiguous across channels.
        case depthwise(kernel: Int)
    }

    static func reorder(_ w: [Float], outChannels: Int, as layout: Convolution) -> [Float] {
        switch layout {
        case .pointwise:
            let cin = w.count / outChannels
            var transposed = [Float](repeating: 0, count: w.count)
            for o in 0..<outChannels {
                for c in 0..<cin { transposed[c * outChannels + o] = w[o * cin + c] }
            }
            var packed = [Float](repeating: 0, count: vit_packed_weights_count(Int32(cin), Int32(outChannels)))
            vit_pack_weights(transposed, Int32(cin), Int32(outChannels), &packed)
            return packed
        case let .dense(k):
            let cin = w.count / (outChannels * k * k)
            var out = [Float](repeating: 0, count: w.count)
            for o in 0..<outChannels {
                for c in 0..<cin {
                    for tap in 0..<(k * k) {
                        out[(o * k * k + tap) * cin + c] = w[(o * cin + c) * k * k + tap]
                    }
                }
            }
            return out
        case let .depthwise(k):
            var out = [Float](repeating: 0, count: w.count)
            for c in 0..<outChannels {
                for tap in 0..<(k * k) { out[tap * outChannels + c] = w[c * k * k + tap] }
            }
            return out
        }
    }
}
