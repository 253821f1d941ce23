/// CaiT, "Going deeper with Image Transformers" (Touvron et al., ICCV 2021), as timm's `cait.py`
/// defines `Cait`: a patch convolution plus a learned position embedding (no class token yet),
/// `depth` LayerScale blocks with talking-heads self-attention over the patches, then
/// `depth_token_only` class-attention blocks in which a class token summarizes the patches (the
/// "summary token" of the efficiency study's taxonomy), the final LayerNorm of the class token and
/// a linear head.

/// Hyper-parameters of a CaiT variant (the registry's `cait` object; names follow timm's `Cait`
/// arguments).
public struct CaiTConfig: Codable, Sendable, Equatable {
    public var patchSize: Int
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    /// Class-attention blocks after the patch blocks.
    public var depthTokenOnly: Int
    /// The image side the position embedding was learned for (the only size timm accepts).
    public var imageSize: Int
    public var layerNormEpsilon: Double
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", embedDim = "embed_dim", depth, numHeads = "num_heads"
        case mlpRatio = "mlp_ratio", depthTokenOnly = "depth_token_only", imageSize = "img_size"
        case layerNormEpsilon = "layer_norm_eps", inChannels = "in_channels", numClasses = "num_classes"
    }

    var grid: Int { imageSize / patchSize }
    var hiddenDim: Int { Int(Double(embedDim) * mlpRatio) }

    func validate(model: String) throws(EngineError) {
        guard patchSize > 0, depth > 0, depthTokenOnly > 0, numHeads > 0, embedDim % numHeads == 0,
              imageSize >= patchSize else {
            throw .invalidConfiguration(model: model, reason: "embed_dim \(embedDim) must split into \(numHeads) heads, depths and sizes be positive")
        }
    }
}

/// One CaiT patch block: `x += γ₁·proj(talkingHeads(qkv(norm1(x)))); x += γ₂·mlp(norm2(x))`
/// (both γ folded into the projections).
struct CaiTBlock: Sendable {
    var norm1: LayerNormLayer
    var qkv: LinearLayer
    var attention: TalkingHeadsAttentionLayer
    var proj: LinearLayer
    var norm2: LayerNormLayer
    var mlp: MLPLayer
}

/// One class-attention block: `cls += γ₁·classAttention(cls, x); cls += γ₂·mlp(norm2(cls))`.
struct CaiTClassBlock: Sendable {
    var attention: ClassAttentionLayer
    var norm2: LayerNormLayer
    var mlp: MLPLayer
}

/// Parameters of one CaiT, laid out for graph building.
struct CaiT: Sendable {
    let config: CaiTConfig
    let parameters: ParameterStore
    let patchEmbed: FoldedConv
    /// `[grid², C]` as read.
    let positionEmbedding: [Float]
    let blocks: [CaiTBlock]
    let classBlocks: [CaiTClassBlock]
    let norm: LayerNormLayer
    let head: LinearLayer

    /// Every tensor of the checkpoint in timm's layout, with its shape.
    static func tensorSpec(_ c: CaiTConfig) -> [TensorSpec] {
        let d = c.embedDim, h = c.numHeads
        var spec = [TensorSpec(name: "cls_token", shape: [1, 1, d]),
                    TensorSpec(name: "pos_embed", shape: [1, c.grid * c.grid, d]),
                    TensorSpec(name: "patch_embed.proj.weight", shape: [d, c.inChannels, c.patchSize, c.patchSize]),
                    TensorSpec(name: "patch_embed.proj.bias", shape: [d])]
        func layerScale(_ p: String) -> [TensorSpec] {
            [TensorSpec(name: p + ".gamma_1", shape: [d]), TensorSpec(name: p + ".gamma_2", shape: [d])]
        }
        for i in 0..<c.depth {
            let p = "blocks.\(i)"
            spec += layerScale(p) + TensorSpec.layerNorm(p + ".norm1", d)
            spec += TensorSpec.linear(p + ".attn.qkv", in: d, out: 3 * d) + TensorSpec.linear(p + ".attn.proj", in: d, out: d)
            spec += TensorSpec.linear(p + ".attn.proj_l", in: h, out: h) + TensorSpec.linear(p + ".attn.proj_w", in: h, out: h)
            spec += TensorSpec.layerNorm(p + ".norm2", d) + MLPLayer.tensorSpec(p + ".mlp", dim: d, hidden: c.hiddenDim)
        }
        for i in 0..<c.depthTokenOnly {
            let p = "blocks_token_only.\(i)"
            spec += layerScale(p) + TensorSpec.layerNorm(p + ".norm1", d)
            for name in ["q", "k", "v", "proj"] { spec += TensorSpec.linear(p + ".attn." + name, in: d, out: d) }
            spec += TensorSpec.layerNorm(p + ".norm2", d) + MLPLayer.tensorSpec(p + ".mlp", dim: d, hidden: c.hiddenDim)
        }
        spec += TensorSpec.layerNorm("norm", d)
        spec += TensorSpec.linear("head", in: d, out: c.numClasses)
        return spec
    }

    /// timm's names; the official release (facebookresearch/deit) wraps them in `module.`.
    static func checkpointKey(_ key: String) -> CheckpointKey? {
        .tensor(key.hasPrefix("module.") ? String(key.dropFirst("module.".count)) : key)
    }

    init(config c: CaiTConfig, tensors t: CheckpointTensors) {
        var loader = ParameterLoader(t)
        patchEmbed = loader.convolution("patch_embed.proj")
        positionEmbedding = t["pos_embed"]
        blocks = (0..<c.depth).map { i in
            let p = "blocks.\(i)"
            let (gamma1, gamma2) = (loader[p + ".gamma_1"], loader[p + ".gamma_2"])
            let attention = loader.talkingHeadsAttention(p + ".attn", heads: c.numHeads, outputScale: gamma1)
            return CaiTBlock(norm1: loader.layerNorm(p + ".norm1", epsilon: c.layerNormEpsilon),
                             qkv: attention.qkv, attention: attention.attention, proj: attention.proj,
                             norm2: loader.layerNorm(p + ".norm2", epsilon: c.layerNormEpsilon),
                             mlp: loader.mlp(p + ".mlp", outputScale: gamma2))
        }
        let classToken = loader.add(t["cls_token"], name: "cls_token")
        classBlocks = (0..<c.depthTokenOnly).map { i in
            let p = "blocks_token_only.\(i)"
            let gamma2 = loader[p + ".gamma_2"]
            return CaiTClassBlock(
                attention: loader.classAttention(p, heads: c.numHeads, epsilon: c.layerNormEpsilon,
                                                 classToken: i == 0 ? classToken : nil),
                norm2: loader.layerNorm(p + ".norm2", epsilon: c.layerNormEpsilon),
                mlp: loader.mlp(p + ".mlp", outputScale: gamma2))
        }
        norm = loader.layerNorm("norm", epsilon: c.layerNormEpsilon)
        head = loader.head("head")
        config = c
        parameters = loader.build()
    }
}

extension CaiT: Architecture {
    func inputProblem(height: Int, width: Int) -> String? {
        onlySize(config.imageSize, height: height, width: width,
                 because: "the position embedding is learned for a \(config.grid)×\(config.grid) grid (timm refuses other sizes too)")
    }

    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        let c = config, d = c.embedDim
        var g = GraphBuilder(inputShape: [n, c.inChannels, height, width])
        let patches = g.convolution(patchEmbed, g.graph.input, kernel: c.patchSize, stride: c.patchSize, padding: 0,
                                    activation: .identity, channelsLast: false, label: "patch_embed.proj")
        let tokens = c.grid * c.grid
        var x = g.add(.embedTokens(TokenEmbedding(prefixCount: 0, addend: positionEmbedding)), input: patches,
                      outputShape: [n, tokens, d], label: "pos_embed")
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)"
            x = g.talkingHeadsAttention(qkv: b.qkv, b.attention, proj: b.proj, g.layerNorm(b.norm1, x, label: p + ".norm1"),
                                        residual: x, label: p + ".attn")
            x = g.feedForward(b.mlp, norm: b.norm2, x, label: p)
        }
        var cls: ValueID?
        for (i, b) in classBlocks.enumerated() {
            let p = "blocks_token_only.\(i)"
            let attended = g.classAttention(b.attention, patches: x, classToken: cls, label: p + ".attn")
            cls = g.feedForward(b.mlp, norm: b.norm2, attended, label: p)
        }
        // LayerNorm acts on each token alone: normalizing the class token alone equals timm's
        // norm of the whole sequence followed by taking token 0.
        let features = g.layerNorm(norm, cls!, label: "norm")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "head")
        return g.finish(outputs: [logits, features])
    }
}

extension CaiTConfig: ModelFamily {
    static var registryFamilies: [String] { ["cait"] }
    var tensorSpec: [TensorSpec] { CaiT.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { CaiT.checkpointKey }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { CaiT(config: self, tensors: tensors) }
}
