/// Attention between feature maps, as EfficientFormerV2 (Li et al., ICCV 2023; timm
/// `efficientformer_v2.py`) uses it: every pixel of a query map attends over every pixel of a
/// key/value map (the same map, or — in `Attention2dDownsample` — the finer map whose every
/// second pixel the queries stand on), with a learned bias per head and relative offset and,
/// optionally, talking heads (the heads' scores mixed by a 1×1 convolution across heads before
/// the softmax and the probabilities after it). The projections around it (1×1 and depthwise
/// convolutions) are ordinary nodes; only the attention itself is this layer.

/// One feature-map attention: queries `[N, hq, wq, heads·keyDim]`, keys `[N, hk, wk,
/// heads·keyDim]`, values `[N, hk, wk, heads·valueDim]` → `[N, hq, wq, heads·valueDim]`.
struct FeatureMapAttentionLayer: Sendable {
    var heads: Int
    var keyDim: Int
    var valueDim: Int
    var scale: Float
    /// `[heads, hq·wq, hk·wk]`: the learned bias of each query and key pixel, expanded from the
    /// table of one entry per offset (``RelativeOffsetBias``) for the graph's one map size.
    var positionBias: ParamID
    /// `talking_head1` (before the softmax) and `talking_head2` (after it): `[heads, heads]`
    /// weights and `[heads]` biases as read; nil for plain attention.
    var mixScores: LinearLayer?
    var mixProbabilities: LinearLayer?
}

/// A learned attention bias indexed by the absolute offset between a query and a key position,
/// the table LeViT introduced and EfficientViT and EfficientFormerV2 keep: one entry per
/// `(|Δy|, |Δx|)` of the key grid, at index `|Δy| · width + |Δx|` (the order in which the
/// references enumerate offsets), so the references' `attention_bias_idxs` buffers are derived
/// here and never read from a file.
enum RelativeOffsetBias {
    /// The `[Tq, Tk]` bias of one head (Tk = the key grid's pixels) for queries on every
    /// `queryStep`-th row and column of the key grid (Tq = their count; step 1: the key grid
    /// itself). `table` holds `heads × Tk` entries.
    static func expand(_ table: [Float], head: Int, keyGrid: (height: Int, width: Int), queryStep: Int = 1) -> [Float] {
        let keys = keyGrid.height * keyGrid.width
        let queryHeight = (keyGrid.height + queryStep - 1) / queryStep
        let queryWidth = (keyGrid.width + queryStep - 1) / queryStep
        let row = table[(head * keys)..<((head + 1) * keys)].map { $0 }
        var out = [Float](repeating: 0, count: queryHeight * queryWidth * keys)
        for qy in 0..<queryHeight {
            for qx in 0..<queryWidth {
                let o = (qy * queryWidth + qx) * keys
                for ky in 0..<keyGrid.height {
                    for kx in 0..<keyGrid.width {
                        out[o + ky * keyGrid.width + kx] = row[abs(qy * queryStep - ky) * keyGrid.width
                                                               + abs(qx * queryStep - kx)]
                    }
                }
            }
        }
        return out
    }
}

extension ParameterLoader {
    /// The attention of a timm `Attention2d` / `Attention2dDownsample` at `prefix`: its
    /// `attention_biases` expanded for keys on `keyGrid` (queries every `queryStep`-th pixel) and
    /// its talking heads when `talkingHeads`.
    mutating func featureMapAttention(_ prefix: String, heads: Int, keyDim: Int, valueDim: Int,
                                      keyGrid: (height: Int, width: Int), queryStep: Int,
                                      talkingHeads: Bool) -> FeatureMapAttentionLayer {
        let table = self[prefix + ".attention_biases"]
        let bias = (0..<heads).flatMap { RelativeOffsetBias.expand(table, head: $0, keyGrid: keyGrid, queryStep: queryStep) }
        return FeatureMapAttentionLayer(
            heads: heads, keyDim: keyDim, valueDim: valueDim, scale: Float(1 / Double(keyDim).squareRoot()),
            positionBias: add(bias, name: prefix + ".position_bias"),
            mixScores: talkingHeads ? unpackedLinear(prefix + ".talking_head1") : nil,
            mixProbabilities: talkingHeads ? unpackedLinear(prefix + ".talking_head2") : nil)
    }
}

extension GraphBuilder {
    /// The attention of `queries` over `keys` and `values` (see ``FeatureMapAttentionLayer``).
    mutating func featureMapAttention(_ a: FeatureMapAttentionLayer, queries: ValueID, keys: ValueID,
                                      values: ValueID, label: String) -> ValueID {
        let q = shape(queries), k = shape(keys)
        let scratch = HeadAttentionKernel.scratchCount(heads: a.heads, queries: q[1] * q[2], keys: k[1] * k[2],
                                                       mixing: a.mixScores != nil)
        return add(.featureMapAttention(a), input: queries, auxiliary: [keys, values],
                   outputShape: [q[0], q[1], q[2], a.heads * a.valueDim], scratch: scratch, label: label)
    }

    /// Bilinear 2× upsampling (PyTorch's `nn.Upsample(scale_factor=2, mode='bilinear')`), then
    /// `activation`.
    mutating func upsample2x(_ x: ValueID, activation: Activation, label: String) -> ValueID {
        let s = shape(x)
        return add(.upsample2x(activation: activation), input: x, outputShape: [s[0], 2 * s[1], 2 * s[2], s[3]],
                   label: label)
    }
}
