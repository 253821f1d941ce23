/// The Vision Transformer (Dosovitskiy et al., ICLR 2021) and its DeiT / DeiT III training
/// recipes, as timm's `vision_transformer.py` defines them: a stride-`p` patch convolution,
/// a class token, learned absolute position embeddings, pre-norm transformer blocks (optionally
/// with LayerScale), a final LayerNorm and a linear head on the class token (or on the mean of
/// the patch tokens). The same trunk carries the "Which Transformer to Favor" benchmark's ViT
/// variants (configured in `VisionTransformerConfig.swift`), whose blocks mix tokens otherwise
/// (`Linformer.swift`, `FNet.swift`, `ToMe.swift`, `Nystromformer.swift`, `Performer.swift`, `PolySA.swift`,
/// `LinearTransformer.swift`, `Synthesizer.swift`), route tokens to experts (`SwitchTransformer.swift`),
/// pool them into a few (`TokenLearner.swift`) or drop the inattentive ones (`EViT.swift`,
/// `DynamicViT.swift`).

/// Parameters of one ViT, laid out for graph building.
struct VisionTransformer: Sendable {
    let config: VisionTransformerConfig
    let parameters: ParameterStore
    let patchEmbed: FoldedConv
    /// `[prefix, C]` prefix tokens and `[positions, C]` position embedding as read.
    let prefixTokens: [Float]
    let positionEmbedding: [Float]
    let blocks: [Block]
    /// `norm` (token pooling) or `fc_norm` (average pooling), applied to the pooled vector.
    let finalNorm: LayerNormLayer
    let head: LinearLayer
    /// DynamicViT's token scorers, one per pruning location (none for the other variants).
    let predictors: [TokenScorePredictor]

    /// Every tensor of the checkpoint in timm's layout, with its shape.
    static func tensorSpec(_ c: VisionTransformerConfig) -> [TensorSpec] {
        let d = c.embedDim
        var spec: [TensorSpec] = []
        if c.classToken { spec.append(TensorSpec(name: "cls_token", shape: [1, 1, d])) }
        let positions = c.trainGrid * c.trainGrid + (c.noEmbedClass ? 0 : c.prefixTokens)
        spec.append(TensorSpec(name: "pos_embed", shape: [1, positions, d]))
        spec.append(TensorSpec(name: "patch_embed.proj.weight", shape: [d, c.inChannels, c.patchSize, c.patchSize]))
        spec.append(TensorSpec(name: "patch_embed.proj.bias", shape: [d]))
        for i in 0..<c.storedBlocks {
            let prefix = "blocks.\(i)"
            switch c.tokenMixer {
            case .tokenLearner(let learning) where i == c.storedBlocks - 1:
                spec += TokenLearnerLayer.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, tokens: learning.tokens)
            case .attention, .tokenMerging, .linearAttention, .tokenRemoval, .nystrom, .tokenLearner, .dynamicPruning:
                spec += TransformerBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, qkvBias: c.qkvBias,
                                                    layerScale: c.layerScale)
            case .linformer(let length):
                spec += LinformerBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, tokens: c.trainTokens, length: length)
            case .fourier:
                spec += FourierBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim)
            case .polynomial:
                spec += PolyBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, heads: c.numHeads,
                                             tokens: c.trainTokens, qkvBias: c.qkvBias)
            case .performer(let features):
                spec += PerformerBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, heads: c.numHeads,
                                                  features: features, qkvBias: c.qkvBias)
            case .factorizedDense:
                spec += SynthesizerBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, heads: c.numHeads,
                                                    tokens: c.trainTokens, bias: c.qkvBias)
            case .factorizedRandom(let factor):
                spec += RandomSynthesizerBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, heads: c.numHeads,
                                                          tokens: c.trainTokens, factor: factor, bias: c.qkvBias)
            case .switchExperts(let experts):
                spec += SwitchBlock.tensorSpec(prefix, dim: d, hidden: c.hiddenDim, qkvBias: c.qkvBias, experts: experts)
            }
        }
        spec += TensorSpec.layerNorm(c.globalPool == "avg" ? "fc_norm" : "norm", d)
        spec += TensorSpec.linear("head", in: d, out: c.numClasses)
        if case .dynamicPruning(let pruning) = c.tokenMixer {
            for i in pruning.locations.indices { spec += TokenScorePredictor.tensorSpec("score_predictor.\(i)", dim: d) }
        }
        return spec
    }

    /// timm's names are canonical; the DeiT III release names LayerScale `gamma_1`/`gamma_2`; the
    /// "Which Transformer to Favor" benchmark saves its models' state dicts from `torch.compile`
    /// and DistributedDataParallel wrappers (`_orig_mod.`, `module.` prefixes, which its own
    /// loader strips too).
    /// TokenLearner's repeated blocks (`repeated`: the indices that name a block a second time)
    /// are the same tensors as the first blocks, which are read; they are not read again.
    static func checkpointKey(_ wrapped: String, repeated: Range<Int> = 0..<0) -> CheckpointKey? {
        let key = CheckpointKey.unwrapped(wrapped)
        if !repeated.isEmpty, key.hasPrefix("blocks."),
           let index = Int(key.dropFirst("blocks.".count).prefix { $0 != "." }), repeated.contains(index) {
            return .ignored
        }
        if key.hasSuffix(".gamma_1") { return .tensor(key.dropLast(".gamma_1".count) + ".ls1.gamma") }
        if key.hasSuffix(".gamma_2") { return .tensor(key.dropLast(".gamma_2".count) + ".ls2.gamma") }
        return .tensor(key)
    }

    init(config c: VisionTransformerConfig, tensors t: CheckpointTensors) {
        var loader = ParameterLoader(t)
        patchEmbed = loader.convolution("patch_embed.proj")
        prefixTokens = c.classToken ? t["cls_token"] : []
        positionEmbedding = t["pos_embed"]
        blocks = (0..<c.storedBlocks).map { i in
            let prefix = "blocks.\(i)"
            return switch c.tokenMixer {
            case .tokenLearner where i == c.storedBlocks - 1: .tokenLearner(loader.tokenLearner(prefix, config: c))
            case .attention, .tokenMerging, .linearAttention, .tokenRemoval, .nystrom, .tokenLearner, .dynamicPruning:
                .attention(loader.transformerBlock(prefix, heads: c.numHeads, qkvBias: c.qkvBias,
                                                   layerScale: c.layerScale, epsilon: c.layerNormEpsilon))
            case .linformer(let length): .linformer(loader.linformerBlock(prefix, config: c, length: length))
            case .fourier: .fourier(loader.fourierBlock(prefix, config: c))
            case .performer: .performer(loader.performerBlock(prefix, config: c))
            case .polynomial: .polynomial(loader.polyBlock(prefix, config: c))
            case .switchExperts(let experts): .switchExperts(loader.switchBlock(prefix, config: c, experts: experts))
            case .factorizedDense: .synthesizer(loader.synthesizerBlock(prefix, config: c))
            case .factorizedRandom(let factor): .randomSynthesizer(loader.randomSynthesizerBlock(prefix, config: c, factor: factor))
            }
        }
        finalNorm = loader.layerNorm(c.globalPool == "avg" ? "fc_norm" : "norm", epsilon: c.layerNormEpsilon)
        head = loader.head("head")
        if case .dynamicPruning(let pruning) = c.tokenMixer {
            predictors = pruning.locations.indices.map { loader.tokenScorePredictor("score_predictor.\($0)") }
        } else {
            predictors = []
        }
        config = c
        parameters = loader.build()
    }

    /// Patch grid of an input: the patch convolution's output size (timm floors, as the conv does).
    func grid(height: Int, width: Int) -> (height: Int, width: Int) {
        (height / config.patchSize, width / config.patchSize)
    }

    /// The prefix tokens and the position embedding for a `grid`, as one `[prefix + h·w, C]` addend.
    func tokenEmbedding(grid: (height: Int, width: Int)) -> TokenEmbedding {
        let c = config, d = c.embedDim
        let embeddedPrefix = c.noEmbedClass ? 0 : c.prefixTokens
        let patchPositions = Array(positionEmbedding[(embeddedPrefix * d)...])
        let resampled = c.tokenMixer.resizesAsBenchmark
            ? (grid.height == c.trainGrid && grid.width == c.trainGrid ? patchPositions
                : Interpolation.cubic.resample(patchPositions, from: (c.trainGrid, c.trainGrid), to: grid, channels: d))
            : PositionEmbedding.resample(patchPositions, from: (c.trainGrid, c.trainGrid), to: grid, channels: d)
        var prefix = prefixTokens
        for i in 0..<(embeddedPrefix * d) { prefix[i] += positionEmbedding[i] }
        return TokenEmbedding(prefixCount: c.prefixTokens, addend: prefix + resampled)
    }
}

extension VisionTransformer: Architecture {
    func inputProblem(height: Int, width: Int) -> String? {
        let p = config.patchSize
        guard height >= p, width >= p else { return "H, W ≥ \(p) (one \(p)×\(p) patch)" }
        if config.tokenMixer.resizesAsBenchmark, height / p != width / p {
            return "a square patch grid (H / \(p) = W / \(p)): the benchmark's set_image_res resizes its tables "
                + "for square images only"
        }
        if case .nystrom(let landmarks) = config.tokenMixer {
            let tokens = config.prefixTokens + (height / p) * (width / p)
            if tokens < landmarks {
                return "at least \(landmarks) tokens (one per landmark): \(tokens) at \(height)×\(width)"
            }
        }
        return nil
    }

    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        let c = config
        var g = GraphBuilder(inputShape: [n, c.inChannels, height, width])
        let grid = grid(height: height, width: width)
        let p = c.patchSize
        let patches = g.convolution(patchEmbed, g.graph.input, kernel: p, stride: p, padding: 0, activation: .identity,
                                    channelsLast: false, label: "patch_embed.proj")
        let tokens = c.prefixTokens + grid.height * grid.width
        var x = g.add(.embedTokens(tokenEmbedding(grid: grid)), input: patches,
                      outputShape: [n, tokens, c.embedDim], label: "pos_embed")
        // One set of DFT tables per graph, shared by every block (copy-on-write arrays).
        let fourier = c.tokenMixer == .fourier ? FourierTables(tokens: tokens, channels: c.embedDim) : nil
        var sizes: ValueID?  // ToMe's token sizes, from the first merge on
        for (i, label) in c.blockSchedule {
            if case .dynamicPruning(let pruning) = c.tokenMixer, let j = pruning.locations.firstIndex(of: i) {
                x = g.pruneTokens(predictors[j], kept: pruning.kept(location: j, patches: grid.height * grid.width), x,
                                  label: "score_predictor.\(j)")
            }
            switch blocks[i] {
            case .attention(let b):
                switch c.tokenMixer {
                case .tokenMerging(let perBlock): x = g.tokenMergingBlock(b, merging: perBlock, sizes: &sizes, x, label: label)
                case .linearAttention: x = g.linearAttentionBlock(b, x, label: label)
                case .nystrom(let l): x = g.nystromBlock(b, landmarks: l, x, label: label)
                case .tokenRemoval(let removal):
                    x = g.tokenRemovalBlock(b, keepRate: removal.keepRate(block: i), fuses: removal.fusesTokens, x, label: label)
                default: x = g.transformerBlock(b, x, label: label)
                }
            case .linformer(let b): x = g.linformerBlock(b, b.attention.tables(grid: grid), x, label: label)
            case .fourier(let b): x = g.fourierBlock(b, fourier!, x, label: label)
            case .performer(let b): x = g.performerBlock(b, x, label: label)
            case .polynomial(let b): x = g.polyBlock(b, config: c, grid: grid, x, label: label)
            case .tokenLearner(let t): x = g.tokenLearner(t, prefixTokens: c.prefixTokens, x, label: label)
            case .switchExperts(let b): x = g.switchBlock(b, x, label: label)
            case .randomSynthesizer(let b):
                x = g.randomSynthesizerBlock(b, b.attention.tables(tokens: tokens), x, label: label)
            case .synthesizer(let b):
                x = g.synthesizerBlock(b, b.attention.tables(tokens: tokens, channels: c.embedDim), x, label: label)
            }
        }
        let pooled = g.add(.tokenPool(c.globalPool == "avg" ? .mean(skipping: c.prefixTokens) : .token(0)), input: x,
                           outputShape: [n, c.embedDim], label: "pool")
        // LayerNorm acts on each token alone, so normalizing after pooling the class token
        // equals timm's norm-then-pool, at 1/T of the cost.
        let features = g.layerNorm(finalNorm, pooled, label: c.globalPool == "avg" ? "fc_norm" : "norm")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "head")
        return g.finish(outputs: [logits, features])
    }
}

extension VisionTransformer {
    /// One block of the trunk, by token mixer.
    enum Block: Sendable {
        case attention(TransformerBlock)
        case linformer(LinformerBlock)
        case fourier(FourierBlock)
        case performer(PerformerBlock)
        case polynomial(PolyBlock)
        case tokenLearner(TokenLearnerLayer)
        case switchExperts(SwitchBlock)
        case synthesizer(SynthesizerBlock)
        case randomSynthesizer(RandomSynthesizerBlock)
    }
}

extension VisionTransformerConfig: ModelFamily {
    /// timm's ViT, and the "Which Transformer to Favor" benchmark's ViT variants (and EViT, in the
    /// benchmark too): timm's ViT arguments plus the mixer's own, the token mixer set by the family.
    static var registryFamilies: [String] { ["vit", "linformer", "fnet", "tome", "linear", "switch", "synthesizer", "evit", "nystrom", "performer", "polysa",
                                              "token_learner", "dynamic_vit"] }

    var tensorSpec: [TensorSpec] { VisionTransformer.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? {
        // TokenLearner's checkpoints name its first L blocks again as blocks L+1…2L.
        var repeated = 0..<0
        if case .tokenLearner(let learning) = tokenMixer {
            let l = learning.blocksBefore(depth: depth)
            repeated = (l + 1)..<(2 * l + 1)
        }
        return { VisionTransformer.checkpointKey($0, repeated: repeated) }
    }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { VisionTransformer(config: self, tensors: tensors) }
}
