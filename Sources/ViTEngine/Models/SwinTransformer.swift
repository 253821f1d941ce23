/// The Swin Transformer (Liu et al., ICCV 2021), as timm's `swin_transformer.py` defines
/// `SwinTransformer`: a stride-`p` patch convolution and LayerNorm, then stages of pre-norm
/// blocks whose attention runs in `w × w` windows, every second block's windows cyclically
/// shifted by `w/2` (with timm's attention mask between the regions the roll brings together);
/// every stage but the first begins with a patch merging (2×2 → LayerNorm → linear, halving the
/// resolution, doubling the width). A final LayerNorm, the mean over tokens and a linear head.
///
/// Activations stay `[N, H, W, C]` throughout (timm's NHWC layout): the window partition, the
/// shift and the merge are folded into the window attention kernel's reads and writes.
///
/// Input sizes: timm's `img_size=` builds the same layers for any size whose every stage still
/// holds a whole window; a stage no larger than the window along an axis is not shifted along
/// it, and feature maps that are not a multiple of the window are zero padded at the bottom and
/// right (padding tokens take part as keys, as in timm). A stage smaller than the window would
/// need a smaller window, hence a resized relative-position table: those sizes are refused.

/// Hyper-parameters of a Swin variant (the registry's `swin` object; names follow timm's
/// `SwinTransformer` arguments).
public struct SwinTransformerConfig: Codable, Sendable, Equatable {
    public var patchSize: Int
    /// Width of the first stage; stage `i` is `embedDim · 2^i` wide.
    public var embedDim: Int
    public var depths: [Int]
    public var numHeads: [Int]
    public var windowSize: Int
    public var mlpRatio: Double
    public var qkvBias: Bool
    /// The image side the model was trained at.
    public var imageSize: Int
    public var layerNormEpsilon: Double
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", embedDim = "embed_dim", depths, numHeads = "num_heads"
        case windowSize = "window_size", mlpRatio = "mlp_ratio", qkvBias = "qkv_bias", imageSize = "img_size"
        case layerNormEpsilon = "layer_norm_eps", inChannels = "in_channels", numClasses = "num_classes"
    }

    func dim(stage i: Int) -> Int { embedDim << i }
    func hiddenDim(stage i: Int) -> Int { Int(Double(dim(stage: i)) * mlpRatio) }
    var features: Int { dim(stage: depths.count - 1) }

    /// Smallest input side every stage can hold a window at: the last stage's map is the patch
    /// grid halved `stages − 1` times, rounded up.
    var minimumSide: Int { patchSize * ((windowSize - 1) << (depths.count - 1) + 1) }

    func validate(model: String) throws(EngineError) {
        guard patchSize > 0, embedDim > 0, windowSize > 1, !depths.isEmpty, depths.count == numHeads.count,
              depths.allSatisfy({ $0 > 0 }) else {
            throw .invalidConfiguration(model: model, reason: "patch_size, embed_dim, window_size > 1 and one depth and head count per stage")
        }
        for i in depths.indices {
            guard numHeads[i] > 0, dim(stage: i) % numHeads[i] == 0, dim(stage: i) % 16 == 0,
                  hiddenDim(stage: i) % 16 == 0 else {
                throw .invalidConfiguration(model: model, reason: "stage \(i): width \(dim(stage: i)) must split into \(numHeads[i]) heads, widths multiples of 16")
            }
        }
    }
}

/// One Swin block: `x += proj(windowAttention(qkv(norm1(x)))); x += mlp(norm2(x))`.
struct SwinBlock: Sendable {
    var norm1: LayerNormLayer
    var attention: WindowAttentionParameters
    var norm2: LayerNormLayer
    var mlp: MLPLayer
}

/// A stage: its patch merging (all stages but the first) and blocks.
struct SwinStage: Sendable {
    var mergeNorm: LayerNormLayer?
    var reduction: LinearLayer?
    var blocks: [SwinBlock]
}

/// Parameters of one Swin Transformer, laid out for graph building.
struct SwinTransformer: Sendable {
    let config: SwinTransformerConfig
    let parameters: ParameterStore
    let patchEmbed: FoldedConv
    let patchNorm: LayerNormLayer
    let stages: [SwinStage]
    let norm: LayerNormLayer
    let head: LinearLayer

    /// Every tensor of the checkpoint in timm's layout, with its shape.
    static func tensorSpec(_ c: SwinTransformerConfig) -> [TensorSpec] {
        var spec = [TensorSpec(name: "patch_embed.proj.weight", shape: [c.embedDim, c.inChannels, c.patchSize, c.patchSize]),
                    TensorSpec(name: "patch_embed.proj.bias", shape: [c.embedDim])]
        spec += TensorSpec.layerNorm("patch_embed.norm", c.embedDim)
        for (i, depth) in c.depths.enumerated() {
            let d = c.dim(stage: i)
            if i > 0 {
                spec += TensorSpec.layerNorm("layers.\(i).downsample.norm", 2 * d)
                spec += TensorSpec.linear("layers.\(i).downsample.reduction", in: 2 * d, out: d, bias: false)
            }
            for j in 0..<depth {
                let p = "layers.\(i).blocks.\(j)"
                spec += TensorSpec.layerNorm(p + ".norm1", d)
                spec += WindowAttentionParameters.tensorSpec(p + ".attn", dim: d, heads: c.numHeads[i],
                                                             window: c.windowSize, qkvBias: c.qkvBias)
                spec += TensorSpec.layerNorm(p + ".norm2", d)
                spec += MLPLayer.tensorSpec(p + ".mlp", dim: d, hidden: c.hiddenDim(stage: i))
            }
        }
        spec += TensorSpec.layerNorm("norm", c.features)
        spec += TensorSpec.linear("head.fc", in: c.features, out: c.numClasses)
        return spec
    }

    /// timm's layout, or the official microsoft/Swin-Transformer release's, told apart by the
    /// whole file as timm's `checkpoint_filter_fn` does: the release merges patches at the end of
    /// a stage, so only it has `layers.0.downsample`, and its `layers.i.downsample` is timm's
    /// `layers.(i+1).downsample` (a key alone cannot tell the two `layers.1.downsample` apart);
    /// its classifier is `head`, timm's `head.fc`. The buffers timm derives
    /// (`relative_position_index`, `attn_mask`) are derived here too.
    static func checkpointKeyMap(names: some Sequence<String>) -> (String) -> CheckpointKey? {
        let official = names.contains("layers.0.downsample.reduction.weight")
        return { key in
            if key.hasSuffix(".relative_position_index") || key.hasSuffix(".attn_mask") { return .ignored }
            guard official else { return .tensor(key) }
            if key.hasPrefix("head.") { return .tensor("head.fc." + key.dropFirst("head.".count)) }
            let parts = key.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
            if parts.count == 4, parts[0] == "layers", let i = Int(parts[1]), parts[2] == "downsample" {
                return .tensor("layers.\(i + 1).downsample.\(parts[3])")
            }
            return .tensor(key)
        }
    }

    init(config c: SwinTransformerConfig, tensors t: CheckpointTensors) {
        var loader = ParameterLoader(t)
        let eps = c.layerNormEpsilon
        patchEmbed = loader.convolution("patch_embed.proj")
        patchNorm = loader.layerNorm("patch_embed.norm", epsilon: eps)
        stages = c.depths.enumerated().map { i, depth in
            let merge = i > 0 ? "layers.\(i).downsample" : nil
            return SwinStage(
                mergeNorm: merge.map { loader.layerNorm($0 + ".norm", epsilon: eps) },
                reduction: merge.map { loader.linear($0 + ".reduction", bias: false) },
                blocks: (0..<depth).map { j in
                    let p = "layers.\(i).blocks.\(j)"
                    return SwinBlock(
                        norm1: loader.layerNorm(p + ".norm1", epsilon: eps),
                        attention: loader.windowAttention(p + ".attn", heads: c.numHeads[i], window: c.windowSize,
                                                          qkvBias: c.qkvBias),
                        norm2: loader.layerNorm(p + ".norm2", epsilon: eps),
                        mlp: loader.mlp(p + ".mlp"))
                })
        }
        norm = loader.layerNorm("norm", epsilon: eps)
        head = loader.head("head.fc")
        config = c
        parameters = loader.build()
    }

    /// Feature map of each stage for an input: the patch grid (floored, as the convolution),
    /// then halved (rounded up: patch merging pads odd sides) at each later stage.
    func stageSizes(height: Int, width: Int) -> [(height: Int, width: Int)] {
        var size = (height: height / config.patchSize, width: width / config.patchSize)
        return config.depths.indices.map { i in
            if i > 0 { size = ((size.height + 1) / 2, (size.width + 1) / 2) }
            return size
        }
    }
}

extension SwinTransformer: Architecture {
    func inputProblem(height: Int, width: Int) -> String? {
        let c = config
        return height >= c.minimumSide && width >= c.minimumSide ? nil
            : "H, W ≥ \(c.minimumSide): every stage must hold a \(c.windowSize)×\(c.windowSize) window "
              + "(the last stage's map is H/\(c.patchSize << (c.depths.count - 1)) rounded up); a smaller "
              + "window would need a resized relative-position table"
    }

    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        let c = config
        var g = GraphBuilder(inputShape: [n, c.inChannels, height, width])
        let patches = g.convolution(patchEmbed, g.graph.input, kernel: c.patchSize, stride: c.patchSize, padding: 0,
                                    activation: .identity, channelsLast: false, label: "patch_embed.proj")
        var x = g.layerNorm(patchNorm, patches, label: "patch_embed.norm")
        let sizes = stageSizes(height: height, width: width)
        for (i, stage) in stages.enumerated() {
            if let mergeNorm = stage.mergeNorm, let reduction = stage.reduction {
                x = g.patchMerging(norm: mergeNorm, reduction: reduction, x, label: "layers.\(i).downsample")
            }
            // timm shifts an axis only where the map is larger than the window.
            let shift = c.windowSize / 2
            let shiftY = sizes[i].height > c.windowSize ? shift : 0
            let shiftX = sizes[i].width > c.windowSize ? shift : 0
            for (j, b) in stage.blocks.enumerated() {
                let p = "layers.\(i).blocks.\(j)"
                let shifted = j % 2 == 1
                x = g.windowAttention(b.attention, g.layerNorm(b.norm1, x, label: p + ".norm1"),
                                      shiftY: shifted ? shiftY : 0, shiftX: shifted ? shiftX : 0, residual: x,
                                      label: p + ".attn")
                x = g.feedForward(b.mlp, norm: b.norm2, x, label: p)
            }
        }
        let normed = g.layerNorm(norm, x, label: "norm")
        let features = g.add(.tokenPool(.mean(skipping: 0)), input: normed, outputShape: [n, c.features], label: "pool")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "head.fc")
        return g.finish(outputs: [logits, features])
    }
}

extension SwinTransformerConfig: ModelFamily {
    static var registryFamilies: [String] { ["swin"] }
    var tensorSpec: [TensorSpec] { SwinTransformer.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { SwinTransformer.checkpointKeyMap(names: names) }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { SwinTransformer(config: self, tensors: tensors) }
}
