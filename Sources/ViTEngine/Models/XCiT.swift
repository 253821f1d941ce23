import Foundation

/// XCiT, "Cross-Covariance Image Transformers" (El-Nouby et al., NeurIPS 2021), as timm's
/// `xcit.py` defines `Xcit`: a stem of stride-2 3×3 convolutions (BatchNorm folded, GELU between),
/// a Fourier positional encoding projected by a 1×1 convolution, blocks of cross-covariance
/// attention (attention across channels, linear in the tokens), local patch interaction
/// (depthwise 3×3, GELU, BatchNorm, depthwise 3×3) and an MLP, each with LayerScale, then a class
/// token and class-attention blocks, the final LayerNorm of the class token and a linear head.
/// Nothing is tied to the training resolution: any input whose patch grid is at least 1×1 runs.

/// Hyper-parameters of an XCiT variant (the registry's `xcit` object; names follow timm's `Xcit`
/// arguments).
public struct XCiTConfig: Codable, Sendable, Equatable {
    /// 16 (four stem convolutions) or 8 (three).
    public var patchSize: Int
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    public var clsAttnLayers: Int
    /// Whether the class-attention blocks' norm2 normalizes every token or the class token only.
    public var tokensNorm: Bool
    public var layerNormEpsilon: Double
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", embedDim = "embed_dim", depth, numHeads = "num_heads", mlpRatio = "mlp_ratio"
        case clsAttnLayers = "cls_attn_layers", tokensNorm = "tokens_norm", layerNormEpsilon = "layer_norm_eps"
        case inChannels = "in_channels", numClasses = "num_classes"
    }

    /// The stem's convolutions (each halves the size): 4 for 16×16 patches, 3 for 8×8.
    var stemConvolutions: Int { patchSize == 16 ? 4 : 3 }
    var hiddenDim: Int { Int(Double(embedDim) * mlpRatio) }
    /// Output channels of stem convolution `i`: `embed_dim / 8, / 4, / 2, embed_dim` (p16).
    func stemWidth(_ i: Int) -> Int { embedDim >> (stemConvolutions - 1 - i) }

    func validate(model: String) throws(EngineError) {
        guard patchSize == 16 || patchSize == 8 else {
            throw .invalidConfiguration(model: model, reason: "patch_size must be 16 or 8 (timm's ConvPatchEmbed)")
        }
        guard depth > 0, clsAttnLayers > 0, numHeads > 0, embedDim % numHeads == 0, embedDim % 8 == 0 else {
            throw .invalidConfiguration(model: model, reason: "embed_dim \(embedDim) must split into \(numHeads) heads and be a multiple of 8")
        }
    }
}

/// One XCiT block: `x += γ₁·proj(xca(qkv(norm1(x)))); x += γ₃·lpi(norm3(x)); x += γ₂·mlp(norm2(x))`
/// (every γ folded into the layer before it).
struct XCABlock: Sendable {
    var norm1: LayerNormLayer
    var qkv: LinearLayer
    var attention: CrossCovarianceAttentionLayer
    var proj: LinearLayer
    var norm3: LayerNormLayer
    /// Local patch interaction: depthwise conv, GELU, BatchNorm (kept as an affine: it sits
    /// before a zero-padded conv), depthwise conv.
    var lpi1: FoldedConv
    var lpiNorm: ChannelAffine
    var lpi2: FoldedConv
    var norm2: LayerNormLayer
    var mlp: MLPLayer
}

/// Parameters of one XCiT, laid out for graph building.
struct XCiT: Sendable {
    let config: XCiTConfig
    let parameters: ParameterStore
    let stem: [FoldedConv]
    /// The positional encoding's 1×1 projection: `[C, 64]` and `[C]`, as read.
    let positionProjection: (weight: [Float], bias: [Float])
    let classToken: [Float]
    let blocks: [XCABlock]
    let classBlocks: [XCiTClassBlockLayer]
    let norm: LayerNormLayer
    let head: LinearLayer

    /// The Fourier features' width: 32 per axis (timm's `hidden_dim`).
    static let fourierDim = 32

    /// Every tensor of the checkpoint in timm's layout, with its shape.
    static func tensorSpec(_ c: XCiTConfig) -> [TensorSpec] {
        let d = c.embedDim
        var spec = [TensorSpec(name: "cls_token", shape: [1, 1, d])]
        var inChannels = c.inChannels
        for i in 0..<c.stemConvolutions {
            let p = "patch_embed.proj.\(2 * i)"
            spec += TensorSpec.convNorm(p + ".0", p + ".1", [c.stemWidth(i), inChannels, 3, 3])
            inChannels = c.stemWidth(i)
        }
        spec += [TensorSpec(name: "pos_embed.token_projection.weight", shape: [d, 2 * fourierDim, 1, 1]),
                 TensorSpec(name: "pos_embed.token_projection.bias", shape: [d])]
        for i in 0..<c.depth {
            let p = "blocks.\(i)"
            spec += ["gamma1", "gamma3", "gamma2"].map { TensorSpec(name: p + "." + $0, shape: [d]) }
            spec += TensorSpec.layerNorm(p + ".norm1", d)
            spec.append(TensorSpec(name: p + ".attn.temperature", shape: [c.numHeads, 1, 1]))
            spec += TensorSpec.linear(p + ".attn.qkv", in: d, out: 3 * d) + TensorSpec.linear(p + ".attn.proj", in: d, out: d)
            spec += TensorSpec.layerNorm(p + ".norm3", d)
            spec += [TensorSpec(name: p + ".local_mp.conv1.weight", shape: [d, 1, 3, 3]),
                     TensorSpec(name: p + ".local_mp.conv1.bias", shape: [d])]
            spec += ["weight", "bias", "running_mean", "running_var"].map { TensorSpec(name: p + ".local_mp.bn." + $0, shape: [d]) }
            spec += [TensorSpec(name: p + ".local_mp.conv2.weight", shape: [d, 1, 3, 3]),
                     TensorSpec(name: p + ".local_mp.conv2.bias", shape: [d])]
            spec += TensorSpec.layerNorm(p + ".norm2", d) + MLPLayer.tensorSpec(p + ".mlp", dim: d, hidden: c.hiddenDim)
        }
        for i in 0..<c.clsAttnLayers {
            let p = "cls_attn_blocks.\(i)"
            spec += ["gamma1", "gamma2"].map { TensorSpec(name: p + "." + $0, shape: [d]) }
            spec += TensorSpec.layerNorm(p + ".norm1", d)
            for name in ["q", "k", "v", "proj"] { spec += TensorSpec.linear(p + ".attn." + name, in: d, out: d) }
            spec += TensorSpec.layerNorm(p + ".norm2", d) + MLPLayer.tensorSpec(p + ".mlp", dim: d, hidden: c.hiddenDim)
        }
        spec += TensorSpec.layerNorm("norm", d)
        spec += TensorSpec.linear("head", in: d, out: c.numClasses)
        return spec
    }

    /// timm's names. (The official release, facebookresearch/xcit, names the encoding
    /// `pos_embeder` and fuses the class attention's q, k, v into one `qkv`, which timm splits
    /// when it loads them; the registry offers timm's files for XCiT.) BatchNorm's step counters
    /// are not needed.
    static func checkpointKey(_ key: String) -> CheckpointKey? {
        key.hasSuffix(".num_batches_tracked") ? .ignored : .tensor(key)
    }

    init(config c: XCiTConfig, tensors t: CheckpointTensors) {
        var loader = ParameterLoader(t)
        stem = (0..<c.stemConvolutions).map { i in
            let p = "patch_embed.proj.\(2 * i)"
            return loader.convolution(p + ".0", norm: p + ".1", as: .dense(kernel: 3, stride: 2))
        }
        positionProjection = (t["pos_embed.token_projection.weight"], t["pos_embed.token_projection.bias"])
        classToken = t["cls_token"]
        blocks = (0..<c.depth).map { i in
            let p = "blocks.\(i)"
            let (gamma1, gamma2, gamma3) = (loader[p + ".gamma1"], loader[p + ".gamma2"], loader[p + ".gamma3"])
            let qkv = loader.linear(p + ".attn.qkv")
            let temperature = loader.add(t[p + ".attn.temperature"], name: p + ".attn.temperature")
            let (scale, shift) = BatchNormFolding.scaleShift(t, norm: p + ".local_mp.bn")
            return XCABlock(
                norm1: loader.layerNorm(p + ".norm1", epsilon: c.layerNormEpsilon), qkv: qkv,
                attention: CrossCovarianceAttentionLayer(heads: c.numHeads, headDim: c.embedDim / c.numHeads,
                                                         temperature: temperature),
                proj: loader.linear(p + ".attn.proj", outputScale: gamma1),
                norm3: loader.layerNorm(p + ".norm3", epsilon: c.layerNormEpsilon),
                lpi1: loader.depthwise(p + ".local_mp.conv1"),
                lpiNorm: ChannelAffine(scale: loader.add(scale.map { Float($0) }, name: p + ".local_mp.bn.scale"),
                                       shift: loader.add(shift.map { Float($0) }, name: p + ".local_mp.bn.shift")),
                lpi2: loader.depthwise(p + ".local_mp.conv2", outputScale: gamma3),
                norm2: loader.layerNorm(p + ".norm2", epsilon: c.layerNormEpsilon),
                mlp: loader.mlp(p + ".mlp", outputScale: gamma2))
        }
        classBlocks = (0..<c.clsAttnLayers).map { i in
            let p = "cls_attn_blocks.\(i)"
            let gamma2 = loader[p + ".gamma2"]
            return XCiTClassBlockLayer(
                attention: loader.classAttention(p, heads: c.numHeads, epsilon: c.layerNormEpsilon, layerScale: "gamma1",
                                                 classToken: nil),
                layerScale1: loader.add(t[p + ".gamma1"], name: p + ".gamma1"),
                norm2: loader.layerNorm(p + ".norm2", epsilon: c.layerNormEpsilon),
                mlp: loader.mlp(p + ".mlp", outputScale: gamma2), tokensNorm: c.tokensNorm)
        }
        norm = loader.layerNorm("norm", epsilon: c.layerNormEpsilon)
        head = loader.head("head")
        config = c
        parameters = loader.build()
    }

    /// timm's `PositionalEncodingFourier` for an `h × w` patch grid, projected: `[h·w, C]`.
    /// Features are formed in Float as timm does (positions normalized to (0, 2π], divided by
    /// `10000^(2⌊k/2⌋/32)`, sine on even and cosine on odd features; y's 32 then x's 32); the
    /// projection is summed in Double and rounded once.
    func positionEncoding(height h: Int, width w: Int) -> [Float] {
        let n = Self.fourierDim, d = config.embedDim, eps: Float = 1e-6, scale = 2 * Float.pi
        let divisors = (0..<n).map { k in powf(10000, Float(2 * (k / 2)) / Float(n)) }
        func features(_ position: Int, of count: Int) -> [Float] {
            let embedded = Float(position + 1) / (Float(count) + eps) * scale
            return (0..<n).map { k in k % 2 == 0 ? sinf(embedded / divisors[k]) : cosf(embedded / divisors[k]) }
        }
        let (weight, bias) = positionProjection
        var out = [Float](repeating: 0, count: h * w * d)
        for y in 0..<h {
            let fy = features(y, of: h)
            for x in 0..<w {
                let f = fy + features(x, of: w)
                for o in 0..<d {
                    var sum = Double(bias[o])
                    for k in 0..<(2 * n) { sum += Double(weight[o * 2 * n + k]) * Double(f[k]) }
                    out[(y * w + x) * d + o] = Float(sum)
                }
            }
        }
        return out
    }
}

extension XCiT: Architecture {
    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        let c = config, d = c.embedDim
        var g = GraphBuilder(inputShape: [n, c.inChannels, height, width])
        var x = g.graph.input
        for (i, conv) in stem.enumerated() {
            x = g.convolution(conv, x, kernel: 3, stride: 2, padding: 1, activation: i + 1 < stem.count ? .gelu : .identity,
                              channelsLast: i > 0, label: "patch_embed.proj.\(2 * i)")
        }
        let grid = (g.shape(x)[1], g.shape(x)[2])
        x = g.add(.embedTokens(TokenEmbedding(prefixCount: 0, addend: positionEncoding(height: grid.0, width: grid.1))),
                  input: x, outputShape: g.shape(x), label: "pos_embed")
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)"
            x = g.crossCovarianceAttention(qkv: b.qkv, b.attention, proj: b.proj, g.layerNorm(b.norm1, x, label: p + ".norm1"),
                                           residual: x, label: p + ".attn")
            let normed = g.layerNorm(b.norm3, x, label: p + ".norm3")
            let local = g.add(.depthwise(weight: b.lpi1.weight, bias: b.lpi1.bias, kernel: 3, stride: 1, activation: .gelu,
                                         then: b.lpiNorm),
                              input: normed, outputShape: g.shape(x), label: p + ".local_mp.conv1")
            x = g.add(.depthwise(weight: b.lpi2.weight, bias: b.lpi2.bias, kernel: 3, stride: 1, activation: .identity),
                      input: local, residual: x, outputShape: g.shape(x), label: p + ".local_mp.conv2")
            x = g.feedForward(b.mlp, norm: b.norm2, x, label: p)
        }
        let tokens = grid.0 * grid.1
        var u = g.add(.embedTokens(TokenEmbedding(prefixCount: 1, addend: classToken + [Float](repeating: 0, count: tokens * d))),
                      input: x, outputShape: [n, 1 + tokens, d], label: "cls_token")
        for (i, b) in classBlocks.enumerated() {
            u = g.add(.xcitClassBlock(b), input: u, outputShape: [n, 1 + tokens, d],
                      scratch: XCiTClassBlockKernel.scratchCount(b, tokens: tokens, hidden: c.hiddenDim),
                      label: "cls_attn_blocks.\(i)")
        }
        // LayerNorm acts on each token alone: the class token's is timm's norm-then-take-token-0.
        let cls = g.add(.tokenPool(.token(0)), input: u, outputShape: [n, d], label: "pool")
        let features = g.layerNorm(norm, cls, label: "norm")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "head")
        return g.finish(outputs: [logits, features])
    }
}

extension XCiTConfig: ModelFamily {
    static var registryFamilies: [String] { ["xcit"] }
    var tensorSpec: [TensorSpec] { XCiT.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { XCiT.checkpointKey }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { XCiT(config: self, tensors: tensors) }
}
