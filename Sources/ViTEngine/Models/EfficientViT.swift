/// EfficientViT (Liu et al., CVPR 2023), as timm's `efficientvit_msra.py` defines it: a
/// 4-conv patch embedding, three stages of sandwich blocks (depthwise conv + FFN, cascaded group
/// attention in local windows, depthwise conv + FFN), patch merging with squeeze-excite between
/// stages, global average pooling and a BatchNorm + linear head.

/// Hyper-parameters of an EfficientViT variant (the registry's `efficientvit` object).
public struct EfficientViTConfig: Codable, Sendable, Equatable {
    public var embedDims: [Int]
    public var depths: [Int]
    public var numHeads: [Int]
    public var keyDims: [Int]
    public var windowSizes: [Int]
    /// Depthwise kernel of each head's query convolution (head `i` uses `kernels[i]`).
    public var kernels: [Int]
    /// Image side the model was built for; fixes each stage's attention window `min(7, resolution)`.
    public var trainResolution: Int
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case embedDims = "embed_dims", depths, numHeads = "num_heads", keyDims = "key_dims"
        case windowSizes = "window_sizes", kernels, trainResolution = "train_resolution"
        case inChannels = "in_channels", numClasses = "num_classes"
    }

    /// Feature-map side after the stride-2 layers: `(n − 1) / 2 + 1`, as PyTorch's conv arithmetic.
    static func halved(_ n: Int) -> Int { (n - 1) / 2 + 1 }

    /// The attention window of each stage: the configured window, capped by the stage's
    /// resolution at the training size (timm: `min(window_resolution, resolution)`).
    var attentionWindows: [Int] {
        var r = trainResolution / 16
        return embedDims.indices.map { s in
            if s > 0 { r = Self.halved(r) }
            return min(windowSizes[s], r)
        }
    }

    /// Channels of the squeeze-excite bottleneck in the patch merging of `channels` hidden
    /// channels: timm's `make_divisible(channels · 0.25, 8)`.
    static func squeezeChannels(_ channels: Int) -> Int {
        let v = Double(channels) * 0.25
        return max(8, Int(v + 4) / 8 * 8)
    }

    func validate(model: String) throws(EngineError) {
        let stages = embedDims.count
        guard stages > 0, [depths.count, numHeads.count, keyDims.count, windowSizes.count].allSatisfy({ $0 == stages }) else {
            throw .invalidConfiguration(model: model, reason: "per-stage lists must all have \(stages) entries")
        }
        for s in 0..<stages where embedDims[s] % numHeads[s] != 0 {
            throw .invalidConfiguration(model: model, reason: "stage \(s): embed dim \(embedDims[s]) not divisible by \(numHeads[s]) heads")
        }
        guard kernels.count >= numHeads.max()!, embedDims[0] % 8 == 0 else {
            throw .invalidConfiguration(model: model, reason: "need a query kernel per head and embed_dims[0] divisible by 8")
        }
    }
}

/// Parameters of one EfficientViT model after BatchNorm folding, laid out for graph building.
struct EfficientViT: Sendable {
    struct FFN: Sendable { var expand: FoldedConv; var reduce: FoldedConv }
    struct Block: Sendable {
        var dw0: FoldedConv, ffn0: FFN
        var attention: CascadedAttentionLayer, projection: FoldedConv
        var dw1: FoldedConv, ffn1: FFN
    }
    struct SqueezeExcite: Sendable { var reduce: FoldedConv; var expand: FoldedConv }
    struct Downsample: Sendable {
        var dw1: FoldedConv, ffn1: FFN
        var expand: FoldedConv, spatial: FoldedConv, squeeze: SqueezeExcite, project: FoldedConv
        var dw2: FoldedConv, ffn2: FFN
    }
    struct Stage: Sendable { var downsample: Downsample?; var blocks: [Block] }

    let config: EfficientViTConfig
    let parameters: ParameterStore
    let patchEmbed: [FoldedConv]
    let stages: [Stage]
    let head: FoldedConv

    /// Every tensor of the checkpoint in timm's layout, with its shape.
    static func tensorSpec(_ c: EfficientViTConfig) -> [TensorSpec] {
        var spec: [TensorSpec] = []
        func convNorm(_ p: String, _ shape: [Int]) {
            spec.append(TensorSpec(name: p + ".conv.weight", shape: shape))
            for s in ["weight", "bias", "running_mean", "running_var"] {
                spec.append(TensorSpec(name: "\(p).bn.\(s)", shape: [shape[0]]))
            }
        }
        func ffn(_ p: String, _ d: Int) {
            convNorm(p + ".pw1", [2 * d, d, 1, 1])
            convNorm(p + ".pw2", [d, 2 * d, 1, 1])
        }
        let e0 = c.embedDims[0]
        let embed = [c.inChannels, e0 / 8, e0 / 4, e0 / 2, e0]
        for i in 0..<4 { convNorm("patch_embed.conv\(i + 1)", [embed[i + 1], embed[i], 3, 3]) }
        let windows = c.attentionWindows
        for s in c.embedDims.indices {
            let d = c.embedDims[s]
            if s > 0 {
                let p = "stages.\(s).downsample", pre = c.embedDims[s - 1], hid = 4 * pre
                let rd = EfficientViTConfig.squeezeChannels(hid)
                convNorm(p + ".res1.0.m", [pre, 1, 3, 3])
                ffn(p + ".res1.1.m", pre)
                convNorm(p + ".patchmerge.conv1", [hid, pre, 1, 1])
                convNorm(p + ".patchmerge.conv2", [hid, 1, 3, 3])
                spec.append(TensorSpec(name: p + ".patchmerge.se.fc1.weight", shape: [rd, hid, 1, 1]))
                spec.append(TensorSpec(name: p + ".patchmerge.se.fc1.bias", shape: [rd]))
                spec.append(TensorSpec(name: p + ".patchmerge.se.fc2.weight", shape: [hid, rd, 1, 1]))
                spec.append(TensorSpec(name: p + ".patchmerge.se.fc2.bias", shape: [hid]))
                convNorm(p + ".patchmerge.conv3", [d, hid, 1, 1])
                convNorm(p + ".res2.0.m", [d, 1, 3, 3])
                ffn(p + ".res2.1.m", d)
            }
            let heads = c.numHeads[s], kd = c.keyDims[s], vd = d / heads
            for b in 0..<c.depths[s] {
                let p = "stages.\(s).blocks.\(b)"
                convNorm(p + ".dw0.m", [d, 1, 3, 3])
                ffn(p + ".ffn0.m", d)
                let a = p + ".mixer.m.attn"
                spec.append(TensorSpec(name: a + ".attention_biases", shape: [heads, windows[s] * windows[s]]))
                for h in 0..<heads { convNorm("\(a).qkvs.\(h)", [2 * kd + vd, d / heads, 1, 1]) }
                for h in 0..<heads { convNorm("\(a).dws.\(h)", [kd, 1, c.kernels[h], c.kernels[h]]) }
                convNorm(a + ".proj.1", [d, heads * vd, 1, 1])
                convNorm(p + ".dw1.m", [d, 1, 3, 3])
                ffn(p + ".ffn1.m", d)
            }
        }
        let last = c.embedDims.last!
        for s in ["weight", "bias", "running_mean", "running_var"] {
            spec.append(TensorSpec(name: "head.bn.\(s)", shape: [last]))
        }
        spec.append(TensorSpec(name: "head.linear.weight", shape: [c.numClasses, last]))
        spec.append(TensorSpec(name: "head.linear.bias", shape: [c.numClasses]))
        return spec
    }

    /// Folds every BatchNorm and expands the attention bias tables; `t` holds the whole spec.
    init(config c: EfficientViTConfig, tensors t: CheckpointTensors) {
        var store = ParameterStoreBuilder()
        func conv(_ p: String, _ layout: WeightLayout.Convolution = .pointwise) -> FoldedConv {
            let (w, b) = BatchNormFolding.convNorm(t, p)
            return store.convolution(weight: w, bias: b, as: layout, name: p)
        }
        func depthwise(_ p: String, kernel: Int = 3) -> FoldedConv { conv(p, .depthwise(kernel: kernel)) }
        // A 1×1 conv with bias and no norm (squeeze-excite's), packed for the GEMM.
        func plain(_ p: String) -> FoldedConv {
            store.convolution(weight: t[p + ".weight"], bias: t[p + ".bias"], as: .pointwise, name: p)
        }
        func ffn(_ p: String) -> FFN { FFN(expand: conv(p + ".pw1"), reduce: conv(p + ".pw2")) }

        patchEmbed = (1...4).map { conv("patch_embed.conv\($0)", .dense(kernel: 3, stride: 2)) }
        let windows = c.attentionWindows
        var stages: [Stage] = []
        for s in c.embedDims.indices {
            var downsample: Downsample? = nil
            if s > 0 {
                let p = "stages.\(s).downsample"
                downsample = Downsample(
                    dw1: depthwise(p + ".res1.0.m"), ffn1: ffn(p + ".res1.1.m"),
                    expand: conv(p + ".patchmerge.conv1"), spatial: depthwise(p + ".patchmerge.conv2"),
                    squeeze: SqueezeExcite(reduce: plain(p + ".patchmerge.se.fc1"),
                                           expand: plain(p + ".patchmerge.se.fc2")),
                    project: conv(p + ".patchmerge.conv3"),
                    dw2: depthwise(p + ".res2.0.m"), ffn2: ffn(p + ".res2.1.m"))
            }
            let d = c.embedDims[s], heads = c.numHeads[s], kd = c.keyDims[s]
            let blocks = (0..<c.depths[s]).map { b -> Block in
                let p = "stages.\(s).blocks.\(b)", a = p + ".mixer.m.attn"
                var qkvW: [ParamID] = [], qkvB: [ParamID] = [], qW: [ParamID] = [], qB: [ParamID] = []
                for h in 0..<heads {
                    let qkv = conv("\(a).qkvs.\(h)"), q = depthwise("\(a).dws.\(h)", kernel: c.kernels[h])
                    qkvW.append(qkv.weight); qkvB.append(qkv.bias); qW.append(q.weight); qB.append(q.bias)
                }
                let table = t[a + ".attention_biases"]
                let bias = (0..<heads).map { h in
                    store.add(Self.expandPositionBias(table, head: h, window: windows[s]),
                              name: "\(a).position_bias.\(h)")
                }
                let layer = CascadedAttentionLayer(
                    heads: heads, channelsPerHead: d / heads, keyDim: kd, valueDim: d / heads,
                    window: windows[s], queryKernels: Array(c.kernels.prefix(heads)),
                    qkvWeights: qkvW, qkvBiases: qkvB, queryWeights: qW, queryBiases: qB,
                    positionBias: bias, scale: Float(1 / Double(kd).squareRoot()))
                return Block(dw0: depthwise(p + ".dw0.m"), ffn0: ffn(p + ".ffn0.m"),
                             attention: layer, projection: conv(a + ".proj.1"),
                             dw1: depthwise(p + ".dw1.m"), ffn1: ffn(p + ".ffn1.m"))
            }
            stages.append(Stage(downsample: downsample, blocks: blocks))
        }
        let (hw, hb) = BatchNormFolding.normLinear(t, "head")
        head = FoldedConv(weight: store.add(hw, outChannels: hb.count, as: .pointwise, name: "head.weight"),
                          bias: store.add(hb, name: "head.bias"),
                          outChannels: hb.count)
        self.stages = stages
        self.config = c
        self.parameters = store.build()
    }

    /// The `[T, T]` bias of one head for a `window × window` tile (T = window²), from the learned
    /// table of one entry per offset (``RelativeOffsetBias``).
    static func expandPositionBias(_ table: [Float], head: Int, window ws: Int) -> [Float] {
        RelativeOffsetBias.expand(table, head: head, keyGrid: (ws, ws))
    }
}

extension EfficientViTConfig: ModelFamily {
    static var registryFamilies: [String] { ["efficientvit"] }
    var tensorSpec: [TensorSpec] { EfficientViT.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { EfficientViT.checkpointKey }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { EfficientViT(config: self, tensors: tensors) }
}
