/// Reorders PyTorch weight tensors into the layouts the channels-last kernels read.
enum WeightLayout {
    /// How a convolution's weight is stored for its kernel.
    enum Convolution {
        /// `[cout, cin]` → `[cin, cout]`: 1×1 convs, the right operand of a non-transposed GEMM.
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
            var out = [Float](repeating: 0, count: w.count)
            for o in 0..<outChannels {
                for c in 0..<cin { out[c * outChannels + o] = w[o * cin + c] }
            }
            return out
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
