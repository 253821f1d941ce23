/// EfficientFormerV2 (Li et al., "Rethinking Vision Transformers for MobileNet Size and Speed",
/// ICCV 2023), as timm's `efficientformer_v2.py` defines `EfficientFormerV2`: a stem of two
/// stride-2 3×3 convolutions, four stages of blocks at 1/4 … 1/32 of the input (every stage but
/// the first begins with a stride-2 3×3 convolution), each block an FFN of 1×1 → depthwise 3×3
/// → 1×1 convolutions with BatchNorm and GELU; in the last `num_vit` blocks of stages 2 and 3 an
/// attention token mixer runs first, and stage 3's downsampling adds an attention whose queries
/// stand on every second pixel. A BatchNorm, the spatial mean, and the mean of two linear heads
/// (`head` and the distillation head `head_dist`, averaged as timm's `forward_head` does at
/// inference).
///
/// The attention (timm `Attention2d`): 1×1 convolutions give q, k (8 heads of 32) and v (8 heads
/// of 128); the scaled scores plus a learned bias per relative offset are mixed across heads
/// (talking heads), softmaxed and mixed again, then applied to v; a depthwise 3×3 of v is added,
/// GELU, and a 1×1 projection. In stage 2 it runs at half resolution: a strided depthwise
/// convolution before the projections and a bilinear 2× upsampling before the GELU. The
/// downsampling attention (`Attention2dDownsample`, 8 heads of 16 / 64) has no talking heads;
/// its queries come from a strided depthwise conv plus the input's every second pixel
/// (`AvgPool2d(1, 2)`) — one depthwise conv whose centre tap carries an extra 1 — and its
/// depthwise value conv is strided too.
///
/// Every BatchNorm is folded at load into the convolution before it (conv biases included) and
/// every LayerScale into the projection it scales; the final BatchNorm stays a per-channel affine
/// (the pre-logits features are its output's mean), and the two heads are one linear layer with
/// the averaged weights.
///
/// Input size: the attention biases are tables over the maps of the size timm built the model
/// for (`img_size`), so a model runs at that size only; another size is another model (another
/// checkpoint). timm builds any `img_size` whose stage-2 maps (`img_size / 16`, rounded up) have
/// even sides, the upsampling's output having to match its input's map.

/// Hyper-parameters of an EfficientFormerV2 variant (the registry's `efficientformerv2` object;
/// names follow timm's `EfficientFormerV2` arguments).
public struct EfficientFormerV2Config: Codable, Sendable, Equatable {
    public var depths: [Int]
    public var embedDims: [Int]
    /// FFN expansion of every block, per stage (timm's `mlp_ratios`, expanded per block).
    public var mlpRatios: [[Double]]
    /// Blocks at the end of stages 2 and 3 with an attention token mixer.
    public var numVit: Int
    /// `[height, width]` the attention biases are sized for, the only input size.
    public var imgSize: [Int]
    /// Whether the checkpoint has the distillation head `head_dist` (averaged with `head`).
    public var distillation: Bool
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case depths, embedDims = "embed_dims", mlpRatios = "mlp_ratios", numVit = "num_vit", imgSize = "img_size"
        case distillation, inChannels = "in_channels", numClasses = "num_classes"
    }

    /// timm's fixed attention shapes: `Attention2d(key_dim=32, num_heads=8, attn_ratio=4)` and
    /// `Attention2dDownsample(key_dim=16, num_heads=8, attn_ratio=4)`.
    static let heads = 8, keyDim = 32, downsampleKeyDim = 16, attentionRatio = 4

    /// Side of the maps at `1/stride` of the input (each stride-2 layer rounds up).
    func mapSize(stride: Int) -> (height: Int, width: Int) {
        ((imgSize[0] + stride - 1) / stride, (imgSize[1] + stride - 1) / stride)
    }

    /// Whether block `b` of stage `s` has an attention token mixer (timm: stages ≥ 2, last `num_vit`).
    func blockHasAttention(stage s: Int, block b: Int) -> Bool { s >= 2 && b > depths[s] - numVit - 1 }

    func hiddenDim(stage s: Int, block b: Int) -> Int { Int(Double(embedDims[s]) * mlpRatios[s][b]) }

    func validate(model: String) throws(EngineError) {
        guard depths.count == 4, embedDims.count == 4, mlpRatios.count == 4,
              zip(depths, mlpRatios).allSatisfy({ $0 > 0 && $1.count == $0 }), numVit >= 0,
              embedDims.allSatisfy({ $0 > 0 && $0 % 2 == 0 }) else {
            throw .invalidConfiguration(model: model, reason: "four stages: depths > 0, one mlp_ratio per block, even embed_dims")
        }
        guard imgSize.count == 2, imgSize.allSatisfy({ $0 > 0 }) else {
            throw .invalidConfiguration(model: model, reason: "img_size must be [height, width]")
        }
        let stage2 = mapSize(stride: 16)
        if (0..<depths[2]).contains(where: { blockHasAttention(stage: 2, block: $0) }),
           stage2.height % 2 != 0 || stage2.width % 2 != 0 {
            throw .invalidConfiguration(model: model, reason: "img_size \(imgSize): stage 2's \(stage2.height)×\(stage2.width) maps must have even sides for its strided attention")
        }
    }
}

/// Parameters of one EfficientFormerV2 after BatchNorm and LayerScale folding.
struct EfficientFormerV2: Sendable {
    /// timm `Attention2d` (`strideConv` in stage 2) or `Attention2dDownsample` (`strideConv` is
    /// then the query's local conv with the pooling folded in, strided).
    struct Attention: Sendable {
        var strideConv: FoldedConv?
        /// Applied to the strided map in a downsampling attention (`q.proj`), else to the block's.
        var query: FoldedConv
        var key: FoldedConv
        var value: FoldedConv
        var valueLocal: FoldedConv
        var layer: FeatureMapAttentionLayer
        /// The output projection, LayerScale folded in.
        var proj: FoldedConv
        /// Queries on the strided map, keys at full resolution (`Attention2dDownsample`).
        var downsampling: Bool
    }
    struct FFN: Sendable { var fc1: FoldedConv; var mid: FoldedConv; var fc2: FoldedConv }
    struct Block: Sendable { var attention: Attention?; var mlp: FFN }
    struct Stage: Sendable { var downsample: FoldedConv?; var downsampleAttention: Attention?; var blocks: [Block] }

    let config: EfficientFormerV2Config
    let parameters: ParameterStore
    let stem: [FoldedConv]
    let stages: [Stage]
    /// The final BatchNorm as a 1×1 depthwise convolution (scale, shift).
    let norm: FoldedConv
    /// `(head + head_dist) / 2`, `[classes, C]`.
    let head: LinearLayer

    /// Every tensor of timm's state dict (floats), in its order.
    static func tensorSpec(_ c: EfficientFormerV2Config) -> [TensorSpec] {
        typealias C = EfficientFormerV2Config
        var spec: [TensorSpec] = []
        func convNorm(_ p: String, _ shape: [Int]) { spec += TensorSpec.convNorm(p + ".conv", p + ".bn", shape, convBias: true) }
        func attention(_ p: String, dim: Int, outDim: Int, grid: (height: Int, width: Int), strided: Bool,
                       downsampling: Bool) {
            let keyDim = downsampling ? C.downsampleKeyDim : C.keyDim
            let qk = C.heads * keyDim, vh = qk * C.attentionRatio
            spec.append(TensorSpec(name: p + ".attention_biases", shape: [C.heads, grid.height * grid.width]))
            if downsampling {
                spec += [TensorSpec(name: p + ".q.local.weight", shape: [dim, 1, 3, 3]),
                         TensorSpec(name: p + ".q.local.bias", shape: [dim])]
                convNorm(p + ".q.proj", [qk, dim, 1, 1])
            } else {
                if strided { convNorm(p + ".stride_conv", [dim, 1, 3, 3]) }
                convNorm(p + ".q", [qk, dim, 1, 1])
            }
            convNorm(p + ".k", [qk, dim, 1, 1])
            convNorm(p + ".v", [vh, dim, 1, 1])
            convNorm(p + ".v_local", [vh, 1, 3, 3])
            if !downsampling {
                for t in ["talking_head1", "talking_head2"] {
                    spec += [TensorSpec(name: "\(p).\(t).weight", shape: [C.heads, C.heads, 1, 1]),
                             TensorSpec(name: "\(p).\(t).bias", shape: [C.heads])]
                }
            }
            convNorm(p + ".proj", [outDim, vh, 1, 1])
        }
        let e = c.embedDims
        convNorm("stem.conv1", [e[0] / 2, c.inChannels, 3, 3])
        convNorm("stem.conv2", [e[0], e[0] / 2, 3, 3])
        for s in 0..<4 {
            if s > 0 {
                let p = "stages.\(s).downsample"
                convNorm(p + ".conv", [e[s], e[s - 1], 3, 3])
                if s >= 3 {
                    attention(p + ".attn", dim: e[s - 1], outDim: e[s], grid: c.mapSize(stride: 4 << (s - 1)),
                              strided: false, downsampling: true)
                }
            }
            for b in 0..<c.depths[s] {
                let p = "stages.\(s).blocks.\(b)"
                if c.blockHasAttention(stage: s, block: b) {
                    let grid = c.mapSize(stride: 4 << (s == 2 ? s + 1 : s))
                    attention(p + ".token_mixer", dim: e[s], outDim: e[s], grid: grid, strided: s == 2,
                              downsampling: false)
                    spec.append(TensorSpec(name: p + ".ls1.gamma", shape: [e[s]]))
                }
                let hidden = c.hiddenDim(stage: s, block: b)
                convNorm(p + ".mlp.fc1", [hidden, e[s], 1, 1])
                convNorm(p + ".mlp.mid", [hidden, 1, 3, 3])
                convNorm(p + ".mlp.fc2", [e[s], hidden, 1, 1])
                spec.append(TensorSpec(name: p + ".ls2.gamma", shape: [e[s]]))
            }
        }
        spec += ["weight", "bias", "running_mean", "running_var"].map { TensorSpec(name: "norm.\($0)", shape: [e[3]]) }
        spec += TensorSpec.linear("head", in: e[3], out: c.numClasses)
        if c.distillation { spec += TensorSpec.linear("head_dist", in: e[3], out: c.numClasses) }
        return spec
    }

    /// timm's layout only (the official snap-research checkpoints use other names; convert them
    /// with timm first). The bias index buffers are derived, never read.
    static func checkpointKey(_ key: String) -> CheckpointKey? {
        key.hasSuffix(".num_batches_tracked") || key.hasSuffix(".attention_bias_idxs") ? .ignored : .tensor(key)
    }

    init(config c: EfficientFormerV2Config, tensors t: CheckpointTensors) {
        typealias C = EfficientFormerV2Config
        var loader = ParameterLoader(t)
        func conv(_ p: String, _ layout: WeightLayout.Convolution = .pointwise, outputScale: [Float]? = nil) -> FoldedConv {
            loader.convolution(p + ".conv", norm: p + ".bn", as: layout, convBias: true, outputScale: outputScale)
        }
        func depthwise(_ p: String) -> FoldedConv { conv(p, .depthwise(kernel: 3)) }
        func attention(_ p: String, grid: (height: Int, width: Int), strided: Bool, downsampling: Bool,
                       outputScale: [Float]?) -> Attention {
            let keyDim = downsampling ? C.downsampleKeyDim : C.keyDim
            let strideConv = downsampling ? queryLocal(p + ".q.local") : strided ? depthwise(p + ".stride_conv") : nil
            let query = conv(downsampling ? p + ".q.proj" : p + ".q")
            return Attention(
                strideConv: strideConv, query: query, key: conv(p + ".k"), value: conv(p + ".v"),
                valueLocal: depthwise(p + ".v_local"),
                layer: loader.featureMapAttention(p, heads: C.heads, keyDim: keyDim, valueDim: keyDim * C.attentionRatio,
                                                  keyGrid: grid, queryStep: downsampling ? 2 : 1,
                                                  talkingHeads: !downsampling),
                proj: conv(p + ".proj", outputScale: outputScale), downsampling: downsampling)
        }
        /// `LocalGlobalQuery`'s `local(x) + pool(x)`: `AvgPool2d(1, 2)` reads the pixel under the
        /// strided conv's centre tap, so it is that tap's weight + 1 (in double, rounded once).
        func queryLocal(_ p: String) -> FoldedConv {
            var w = loader[p + ".weight"]
            let channels = w.count / 9
            for ch in 0..<channels { w[ch * 9 + 4] = Float(Double(w[ch * 9 + 4]) + 1) }
            return loader.convolution(weight: w, bias: loader[p + ".bias"], as: .depthwise(kernel: 3), name: p)
        }

        stem = [conv("stem.conv1", .dense(kernel: 3, stride: 2)), conv("stem.conv2", .dense(kernel: 3, stride: 2))]
        stages = (0..<4).map { s in
            let p = "stages.\(s)"
            let downsample = s > 0 ? conv(p + ".downsample.conv", .dense(kernel: 3, stride: 2)) : nil
            let downsampleAttention = s >= 3
                ? attention(p + ".downsample.attn", grid: c.mapSize(stride: 4 << (s - 1)), strided: false,
                            downsampling: true, outputScale: nil)
                : nil
            let blocks = (0..<c.depths[s]).map { b -> Block in
                let q = "\(p).blocks.\(b)"
                let mixer = c.blockHasAttention(stage: s, block: b)
                    ? attention(q + ".token_mixer", grid: c.mapSize(stride: 4 << (s == 2 ? s + 1 : s)), strided: s == 2,
                                downsampling: false, outputScale: loader[q + ".ls1.gamma"])
                    : nil
                return Block(attention: mixer,
                             mlp: FFN(fc1: conv(q + ".mlp.fc1"), mid: depthwise(q + ".mlp.mid"),
                                      fc2: conv(q + ".mlp.fc2", outputScale: loader[q + ".ls2.gamma"])))
            }
            return Stage(downsample: downsample, downsampleAttention: downsampleAttention, blocks: blocks)
        }
        let (scale, shift) = BatchNormFolding.scaleShift(t, norm: "norm")
        norm = FoldedConv(weight: loader.add(scale.map { Float($0) }, name: "norm.scale"),
                          bias: loader.add(shift.map { Float($0) }, name: "norm.shift"), outChannels: scale.count)
        head = Self.averagedHead(&loader, distillation: c.distillation)
        config = c
        parameters = loader.build()
    }

    /// timm's `forward_head` at inference, `(head(x) + head_dist(x)) / 2`, as one linear layer
    /// (the weights and biases averaged in double, rounded once); `head` alone without distillation.
    private static func averagedHead(_ loader: inout ParameterLoader, distillation: Bool) -> LinearLayer {
        guard distillation else { return loader.head("head") }
        func mean(_ name: String) -> [Float] {
            zip(loader["head." + name], loader["head_dist." + name]).map { Float((Double($0) + Double($1)) / 2) }
        }
        let bias = mean("bias")
        let weight = loader.add(mean("weight"), outChannels: bias.count, as: .pointwise, name: "head.weight")
        return LinearLayer(weight: weight, bias: loader.add(bias, name: "head.bias"),
                           outFeatures: bias.count)
    }
}

extension EfficientFormerV2: Architecture {
    func inputProblem(height: Int, width: Int) -> String? {
        let size = config.imgSize
        return height == size[0] && width == size[1] ? nil
            : "\(size[0])×\(size[1]) only: the attention biases are sized for that input's maps (timm's img_size)"
    }

    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        var g = GraphBuilder(inputShape: [n, config.inChannels, height, width])

        func pointwise(_ c: FoldedConv, _ x: ValueID, activation: Activation = .identity, residual: ValueID? = nil,
                       label: String) -> ValueID {
            g.linear(LinearLayer(weight: c.weight, bias: c.bias, outFeatures: c.outChannels), x, activation: activation,
                     residual: residual, label: label)
        }
        func depthwise(_ c: FoldedConv, _ x: ValueID, kernel: Int = 3, stride: Int = 1, activation: Activation = .identity,
                       residual: ValueID? = nil, label: String) -> ValueID {
            let s = g.shape(x)
            let h = convolutionOutputSize(s[1], kernel: kernel, stride: stride, padding: kernel / 2)
            let w = convolutionOutputSize(s[2], kernel: kernel, stride: stride, padding: kernel / 2)
            return g.add(.depthwise(weight: c.weight, bias: c.bias, kernel: kernel, stride: stride, activation: activation),
                         input: x, residual: residual, outputShape: [s[0], h, w, c.outChannels], label: label)
        }
        /// `residual + proj(act(attention + v_local))`, upsampled before the GELU when strided.
        func attention(_ a: Attention, _ x: ValueID, residual: ValueID, label: String) -> ValueID {
            let strided = a.strideConv.map { depthwise($0, x, stride: 2, label: label + (a.downsampling ? ".q.local" : ".stride_conv")) }
            let source = a.downsampling ? x : strided ?? x
            let q = pointwise(a.query, strided ?? x, label: label + (a.downsampling ? ".q.proj" : ".q"))
            let k = pointwise(a.key, source, label: label + ".k")
            let v = pointwise(a.value, source, label: label + ".v")
            let attended = g.featureMapAttention(a.layer, queries: q, keys: k, values: v, label: label)
            let upsampled = !a.downsampling && a.strideConv != nil
            var y = depthwise(a.valueLocal, v, stride: a.downsampling ? 2 : 1, activation: upsampled ? .identity : .gelu,
                              residual: attended, label: label + ".v_local")
            if upsampled { y = g.upsample2x(y, activation: .gelu, label: label + ".upsample") }
            return pointwise(a.proj, y, residual: residual, label: label + ".proj")
        }

        var x = g.convolution(stem[0], g.graph.input, kernel: 3, stride: 2, padding: 1, activation: .gelu,
                              channelsLast: false, label: "stem.conv1")
        x = g.convolution(stem[1], x, kernel: 3, stride: 2, padding: 1, activation: .gelu, label: "stem.conv2")
        for (s, stage) in stages.enumerated() {
            if let down = stage.downsample {
                let p = "stages.\(s).downsample"
                let conv = g.convolution(down, x, kernel: 3, stride: 2, padding: 1, activation: .identity, label: p + ".conv")
                x = stage.downsampleAttention.map { attention($0, x, residual: conv, label: p + ".attn") } ?? conv
            }
            for (b, block) in stage.blocks.enumerated() {
                let p = "stages.\(s).blocks.\(b)"
                if let a = block.attention { x = attention(a, x, residual: x, label: p + ".token_mixer") }
                let hidden = pointwise(block.mlp.fc1, x, activation: .gelu, label: p + ".mlp.fc1")
                let mid = depthwise(block.mlp.mid, hidden, activation: .gelu, label: p + ".mlp.mid")
                x = pointwise(block.mlp.fc2, mid, residual: x, label: p + ".mlp.fc2")
            }
        }
        let normed = depthwise(norm, x, kernel: 1, label: "norm")
        let features = g.add(.globalAveragePool, input: normed, outputShape: [n, norm.outChannels], label: "global_pool")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "head")
        return g.finish(outputs: [logits, features])
    }
}

extension EfficientFormerV2Config: ModelFamily {
    static var registryFamilies: [String] { ["efficientformerv2"] }
    var tensorSpec: [TensorSpec] { EfficientFormerV2.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { EfficientFormerV2.checkpointKey }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { EfficientFormerV2(config: self, tensors: tensors) }
}
