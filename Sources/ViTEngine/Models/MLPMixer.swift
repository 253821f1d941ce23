/// MLP-Mixer (Tolstikhin et al., NeurIPS 2021), as timm's `mlp_mixer.py` defines `MlpMixer`: a
/// stride-`p` patch convolution, blocks that mix tokens with an MLP across the sequence and then
/// channels with an MLP across features (both pre-norm, with residuals), a final LayerNorm, the
/// mean over tokens and a linear head. No attention, no position embedding: the token-mixing MLP's
/// weights are sized for one sequence length, so the model runs at its training resolution only.
///
/// The token-mixing MLP acts on the transposed sequence (`channels × tokens`), so it runs as an
/// ordinary linear layer between two transposes; the second transpose adds the residual.

/// Hyper-parameters of an MLP-Mixer (the registry's `mixer` object; names follow timm's
/// `MlpMixer` arguments).
public struct MLPMixerConfig: Codable, Sendable, Equatable {
    public var patchSize: Int
    public var numBlocks: Int
    public var embedDim: Int
    /// Widths of the token-mixing and channel MLPs as multiples of `embedDim` (timm's
    /// `(0.5, 4.0)`).
    public var mlpRatio: [Double]
    /// The image side the token-mixing MLPs were built for.
    public var imageSize: Int
    public var layerNormEpsilon: Double
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", numBlocks = "num_blocks", embedDim = "embed_dim", mlpRatio = "mlp_ratio"
        case imageSize = "img_size", layerNormEpsilon = "layer_norm_eps"
        case inChannels = "in_channels", numClasses = "num_classes"
    }

    /// Tokens per image: the training resolution's patch grid.
    var tokens: Int { (imageSize / patchSize) * (imageSize / patchSize) }
    /// Hidden widths of the token-mixing and channel MLPs (timm truncates `ratio · dim`).
    var tokensHidden: Int { Int(mlpRatio[0] * Double(embedDim)) }
    var channelsHidden: Int { Int(mlpRatio[1] * Double(embedDim)) }

    func validate(model: String) throws(EngineError) {
        guard patchSize > 0, numBlocks > 0, embedDim > 0, imageSize >= patchSize, mlpRatio.count == 2,
              tokensHidden > 0, channelsHidden > 0 else {
            throw .invalidConfiguration(model: model, reason: "patch_size, num_blocks, embed_dim, img_size must be positive and mlp_ratio two positive ratios")
        }
    }
}

/// One Mixer block: `x += tokenMLP(norm1(x)ᵀ)ᵀ; x += channelMLP(norm2(x))`.
struct MixerBlock: Sendable {
    var norm1: LayerNormLayer
    var tokenMLP: MLPLayer
    var norm2: LayerNormLayer
    var channelMLP: MLPLayer
}

/// Parameters of one MLP-Mixer, laid out for graph building.
struct MLPMixer: Sendable {
    let config: MLPMixerConfig
    let parameters: ParameterStore
    let stem: FoldedConv
    let blocks: [MixerBlock]
    let norm: LayerNormLayer
    let head: LinearLayer

    /// Every tensor of the checkpoint in timm's layout, with its shape.
    static func tensorSpec(_ c: MLPMixerConfig) -> [TensorSpec] {
        let d = c.embedDim
        var spec = [TensorSpec(name: "stem.proj.weight", shape: [d, c.inChannels, c.patchSize, c.patchSize]),
                    TensorSpec(name: "stem.proj.bias", shape: [d])]
        for i in 0..<c.numBlocks {
            let p = "blocks.\(i)"
            spec += TensorSpec.layerNorm(p + ".norm1", d)
            spec += MLPLayer.tensorSpec(p + ".mlp_tokens", dim: c.tokens, hidden: c.tokensHidden)
            spec += TensorSpec.layerNorm(p + ".norm2", d)
            spec += MLPLayer.tensorSpec(p + ".mlp_channels", dim: d, hidden: c.channelsHidden)
        }
        spec += TensorSpec.layerNorm("norm", d)
        spec += TensorSpec.linear("head", in: d, out: c.numClasses)
        return spec
    }

    /// timm's names are the only published layout of these weights (the JAX release is converted
    /// by timm itself).
    static func checkpointKey(_ key: String) -> CheckpointKey? { .tensor(key) }

    init(config c: MLPMixerConfig, tensors t: CheckpointTensors) {
        var loader = ParameterLoader(t)
        stem = loader.convolution("stem.proj")
        blocks = (0..<c.numBlocks).map { i in
            let p = "blocks.\(i)"
            return MixerBlock(norm1: loader.layerNorm(p + ".norm1", epsilon: c.layerNormEpsilon),
                              tokenMLP: loader.mlp(p + ".mlp_tokens"),
                              norm2: loader.layerNorm(p + ".norm2", epsilon: c.layerNormEpsilon),
                              channelMLP: loader.mlp(p + ".mlp_channels"))
        }
        norm = loader.layerNorm("norm", epsilon: c.layerNormEpsilon)
        head = loader.head("head")
        config = c
        parameters = loader.build()
    }
}

extension MLPMixer: Architecture {
    func inputProblem(height: Int, width: Int) -> String? {
        onlySize(config.imageSize, height: height, width: width,
                 because: "the token-mixing MLPs are sized for \(config.tokens) tokens")
    }

    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        let c = config, d = c.embedDim
        var g = GraphBuilder(inputShape: [n, c.inChannels, height, width])
        // The patches stay `[N, h, w, C]`: LayerNorm, linear layers and the pool read any
        // `[N, …, C]` as tokens in row-major order, as timm's flatten does.
        let patches = g.convolution(stem, g.graph.input, kernel: c.patchSize, stride: c.patchSize, padding: 0,
                                    activation: .identity, channelsLast: false, label: "stem.proj")
        let tokens = g.shape(patches)[1] * g.shape(patches)[2]
        var x = patches
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)"
            let normed = g.layerNorm(b.norm1, x, label: p + ".norm1")
            let channelsByTokens = g.add(.transpose, input: normed, outputShape: [n, d, tokens], label: p + ".transpose")
            let mixed = g.mlp(b.tokenMLP, channelsByTokens, residual: nil, label: p + ".mlp_tokens")
            x = g.add(.transpose, input: mixed, residual: x, outputShape: g.shape(x), label: p + ".transpose_back")
            x = g.mlp(b.channelMLP, g.layerNorm(b.norm2, x, label: p + ".norm2"), residual: x,
                      label: p + ".mlp_channels")
        }
        let normed = g.layerNorm(norm, x, label: "norm")
        let features = g.add(.tokenPool(.mean(skipping: 0)), input: normed, outputShape: [n, d], label: "pool")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "head")
        return g.finish(outputs: [logits, features])
    }
}

extension MLPMixerConfig: ModelFamily {
    static var registryFamilies: [String] { ["mixer"] }
    var tensorSpec: [TensorSpec] { MLPMixer.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { MLPMixer.checkpointKey }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { MLPMixer(config: self, tensors: tensors) }
}
