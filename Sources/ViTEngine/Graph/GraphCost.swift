/// Arithmetic cost of a graph, counted from its own nodes (multiply-accumulates, as fvcore and
/// timm count them: one MAC per weight use; bias, activation, softmax and pooling are free).
extension Graph {
    /// Multiply-accumulates of one run of the whole batch.
    var macs: Int { nodes.reduce(0) { $0 + macs(of: $1) } }

    func macs(of node: Node) -> Int {
        let input = values[node.input.index].shape
        let output = values[node.output.index].shape
        let batch = input[0]
        // Spatial values are [N, H, W, C], sequences [N, T, C]; the stem's input alone is [N, C, H, W].
        let rows = values[node.output.index].rowsPerImage
        switch node.operation {
        case let .convolution(_, _, _, kernel, _, _, _, channelsLast):
            return batch * rows * output[3] * (channelsLast ? input[3] : input[1]) * kernel * kernel
        case .pointwise:
            return batch * rows * output.last! * input.last!
        case let .feedForward(f):
            return batch * rows * f.hidden * (input.last! + output.last!)
        case let .depthwise(_, _, kernel, _, _, _):
            return batch * rows * output[3] * kernel * kernel
        case let .squeezeExcite(_, _, _, _, reduced):
            return batch * 2 * input[3] * reduced
        case let .cascadedAttention(a):
            // Per window and head: qkv projection, query depthwise conv, q·kᵀ and attn·v.
            let windows = ((input[1] + a.window - 1) / a.window) * ((input[2] + a.window - 1) / a.window)
            let t = a.window * a.window
            let heads = a.queryKernels.prefix(a.heads).map { k in
                (2 * a.keyDim + a.valueDim) * a.channelsPerHead * t + k * k * a.keyDim * t
                    + t * t * a.keyDim + t * t * a.valueDim
            }
            return batch * windows * heads.reduce(0, +)
        case let .selfAttention(heads, headDim, _):
            // q·kᵀ and attn·v per head.
            return batch * heads * 2 * rows * rows * headDim
        case let .talkingHeadsAttention(a):
            // q·kᵀ and attn·v per head, and the two mixes across heads of every score.
            return batch * (a.heads * 2 * rows * rows * a.headDim + 2 * a.heads * a.heads * rows * rows)
        case let .classAttention(a):
            // Keys and values of every token, the class token's query and projection, and its
            // scores and weighted sum per head.
            let c = a.heads * a.headDim, tokens = input[1] + 1
            return batch * (2 * tokens * c * c + 2 * c * c + 2 * tokens * c)
        case let .crossCovarianceAttention(a):
            // q̂ᵀ·k̂ and v·Aᵀ per head: linear in the tokens.
            return batch * a.heads * 2 * rows * a.headDim * a.headDim
        case let .xcitClassBlock(b):
            // The class attention (as CaiT's) and the class token's MLP.
            let c = b.attention.heads * b.attention.headDim, tokens = input[1]
            return batch * (2 * tokens * c * c + 2 * c * c + 2 * tokens * c + 2 * c * b.mlp.fc1.outFeatures)
        case let .windowAttention(a):
            // q·kᵀ and attn·v per head in every window of the padded grid (as computed).
            let grid = WindowAttentionKernel.windowGrid(a, height: input[1], width: input[2])
            let t = a.window * a.window
            return batch * grid.rows * grid.columns * a.heads * 2 * t * t * a.headDim
        case let .featureMapAttention(a):
            // q·kᵀ and attn·v per head, and the talking heads' two mixes of every score.
            let keys = values[node.auxiliary[0].index].rowsPerImage
            let mixes = a.mixScores == nil ? 0 : 2 * a.heads * a.heads * rows * keys
            return batch * (a.heads * rows * keys * (a.keyDim + a.valueDim) + mixes)
        case .globalAveragePool, .tokenPool, .embedTokens, .layerNorm, .maxPool, .transpose, .patchMerging,
             .upsample2x:
            return 0
        case .linear:
            return batch * output[1] * input[1]
        case let .sequenceMixer(mixer):
            return batch * mixer.macsPerImage(input: input, output: output)
        case let .family(operation):
            return batch * operation.macsPerImage(input: input, output: output)
        case let .switchExperts(e):
            // The router and one expert's two layers per token.
            let c = input[2]
            return batch * rows * (c * e.experts.count + 2 * c * e.hidden)
        }
    }
}
