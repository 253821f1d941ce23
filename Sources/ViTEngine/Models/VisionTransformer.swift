/// The Vision Transformer (Dosovitskiy et al., ICLR 2021) and its DeiT / DeiT III training
/// recipes, as timm's `vision_transformer.py` defines them: a stride-`p` patch convolution,
/// a class token, learned absolute position embeddings, pre-norm transformer blocks (optionally
/// with LayerScale), a final LayerNorm and a linear head on the class token (or on the mean of
/// the patch tokens). The same trunk carries the "Which Transformer to Favor" benchmark's ViT
/// variants, whose blocks mix tokens otherwise (`Linformer.swift`, `FNet.swift`, `ToMe.swift`,
/// `LinearTransformer.swift`, `Synthesizer.swift`), route tokens to experts (`SwitchTransformer.swift`)
/// or drop the inattentive ones (`EViT.swift`).

/// Hyper-parameters of a ViT variant (the registry's `vit` object, and the benchmark's
/// `linformer`, `fnet`, `tome`, … and `evit` objects; names follow timm's `VisionTransformer`
/// arguments). What belongs to one variant's token mixer is in ``tokenMixer``.
public struct VisionTransformerConfig: Decodable, Sendable, Equatable {
    public var patchSize: Int
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    public var qkvBias: Bool
    /// Whether the model has a class token.
    public var classToken: Bool
    /// DeiT III / big_vision: the position embedding covers the patches only (added before the
    /// class token is prepended).
    public var noEmbedClass: Bool
    /// Whether blocks scale their residual branches (`ls1.gamma`, `ls2.gamma`; DeiT III, CaiT).
    public var layerScale: Bool
    /// `token` (the class token) or `avg` (mean of the patch tokens, then `fc_norm`).
    public var globalPool: String
    /// Image side the position embedding was learned for.
    public var imageSize: Int
    public var layerNormEpsilon: Double
    public var inChannels: Int
    public var numClasses: Int
    /// The blocks' token mixer, with its own settings: timm's attention unless the registry
    /// family is one of the benchmark's ViT variants (decoded from that family's object).
    public var tokenMixer: TokenMixer = .attention

    /// The token mixer of every block, and its settings.
    public enum TokenMixer: Sendable, Equatable {
        /// timm's multi-head self-attention.
        case attention
        /// Linformer's attention over keys and values projected along the tokens to
        /// `projectedLength` (the benchmark's `LinformerViT(k=...)`; `Linformer.swift`).
        case linformer(projectedLength: Int)
        /// FNet's 2-D Fourier transform (`FNet.swift`).
        case fourier
        /// timm's attention, proportional to token sizes, and ToMe's merging of `perBlock`
        /// tokens in every block (the benchmark's `model.r`, a constant schedule; `ToMe.swift`).
        case tokenMerging(perBlock: Int)
        /// The Linear Transformer's kernelized attention on timm's qkv (`LinearTransformer.swift`).
        case linearAttention
        /// The Nyströmformer's attention through `landmarks` segment means of the queries and keys
        /// (the benchmark's `num_landmarks`; `Nystromformer.swift`).
        case nystrom(landmarks: Int)
        /// The Performer's FAVOR+ attention through `features` random features per head (the
        /// benchmark's `nb_features`; `Performer.swift`).
        case performer(features: Int)
        /// Poly-SA's per-head modulator of the whole sequence (`PolySA.swift`).
        case polynomial
        /// timm's attention, and TokenLearner's pooling of the patches into a few learned tokens
        /// after a fraction of the blocks (`TokenLearner.swift`).
        case tokenLearner(TokenLearning)
        /// timm's attention, and DynamicViT's pruning of the lowest-scored tokens before some
        /// blocks (`DynamicViT.swift`).
        case dynamicPruning(DynamicPruning)
        /// timm's attention, and a mixture of `experts` MLPs (the benchmark's `n_experts`;
        /// `SwitchTransformer.swift`).
        case switchExperts(experts: Int)
        /// The factorized dense Synthesizer's attention (`synthesizer_fd_*`; `Synthesizer.swift`).
        case factorizedDense
        /// The random Synthesizer's constant attention of factor rank `factor`
        /// (`synthesizer_fr_*`; `Synthesizer.swift`).
        case factorizedRandom(factor: Int)
        /// timm's attention, and EViT's removal of the tokens the class token attends to least
        /// (`EViT.swift`).
        case tokenRemoval(TokenRemoval)

        /// The benchmark's models change resolution through its `set_image_res`: square sizes
        /// only, position embedding resized by `F.interpolate` bicubic without antialiasing.
        var resizesAsBenchmark: Bool { self != .attention }
    }

    /// EViT's token removal.
    public struct TokenRemoval: Sendable, Equatable {
        /// The keep rate of the shrinking blocks (`base_keep_rate`).
        public var keepRate: Double
        /// The shrinking blocks (`drop_loc`, 0-based block indices); the others keep every token.
        public var shrinkingBlocks: [Int]
        /// Inattentive token fusion (`fuse_token`): the dropped tokens are summed, weighted by
        /// their attention, into one token kept at the end of the sequence.
        public var fusesTokens: Bool

        /// The keep rate of block `i` (1: the block keeps every token).
        func keepRate(block i: Int) -> Double { shrinkingBlocks.contains(i) ? keepRate : 1 }
    }

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", embedDim = "embed_dim", depth, numHeads = "num_heads"
        case mlpRatio = "mlp_ratio", qkvBias = "qkv_bias", classToken = "class_token"
        case noEmbedClass = "no_embed_class", layerScale = "layer_scale", globalPool = "global_pool"
        case imageSize = "img_size", layerNormEpsilon = "layer_norm_eps"
        case inChannels = "in_channels", numClasses = "num_classes"
    }

    /// The variants' own fields, read for the family that names them.
    private enum MixerKeys: String, CodingKey {
        case projectedLength = "k", mergedPerBlock = "r", experts = "n_experts", synthesis, factor = "f"
        case keepRate = "keep_rate", shrinkingBlocks = "drop_loc", fusesTokens = "fuse_token"
        case landmarks = "num_landmarks", features = "nb_features"
        case learnedTokens = "learned_tokens", learnerLayer = "token_learner_layer_rel"
        case pruningLocations = "pruning_loc", keepRatios = "token_ratio"
    }

    /// The common fields, then the token mixer of `family` with its own fields (a field of
    /// another variant's is refused, naming it).
    static func decode(family: String, from decoder: any Decoder) throws -> VisionTransformerConfig {
        var config = try VisionTransformerConfig(from: decoder)
        let m = try decoder.container(keyedBy: MixerKeys.self)
        let own: [MixerKeys]
        switch family {
        case "linformer":
            config.tokenMixer = .linformer(projectedLength: try m.decode(Int.self, forKey: .projectedLength))
            own = [.projectedLength]
        case "fnet":
            config.tokenMixer = .fourier
            own = []
        case "tome":
            config.tokenMixer = .tokenMerging(perBlock: try m.decode(Int.self, forKey: .mergedPerBlock))
            own = [.mergedPerBlock]
        case "nystrom":
            config.tokenMixer = .nystrom(landmarks: try m.decode(Int.self, forKey: .landmarks))
            own = [.landmarks]
        case "performer":
            config.tokenMixer = .performer(features: try m.decode(Int.self, forKey: .features))
            own = [.features]
        case "dynamic_vit":
            config.tokenMixer = .dynamicPruning(DynamicPruning(
                locations: try m.decode([Int].self, forKey: .pruningLocations),
                keepRatios: try m.decode([Double].self, forKey: .keepRatios)))
            own = [.pruningLocations, .keepRatios]
        case "token_learner":
            config.tokenMixer = .tokenLearner(TokenLearning(
                tokens: try m.decode(Int.self, forKey: .learnedTokens),
                layerFraction: try m.decode(Double.self, forKey: .learnerLayer)))
            own = [.learnedTokens, .learnerLayer]
        case "polysa":
            config.tokenMixer = .polynomial
            own = []
        case "linear":
            config.tokenMixer = .linearAttention
            own = []
        case "switch":
            config.tokenMixer = .switchExperts(experts: try m.decode(Int.self, forKey: .experts))
            own = [.experts]
        case "synthesizer":
            let synthesis = try m.decodeIfPresent(String.self, forKey: .synthesis) ?? "dense"
            switch synthesis {
            case "dense":
                config.tokenMixer = .factorizedDense
                own = [.synthesis]
            case "random":
                config.tokenMixer = .factorizedRandom(factor: try m.decode(Int.self, forKey: .factor))
                own = [.synthesis, .factor]
            default:
                throw DecodingError.dataCorruptedError(forKey: .synthesis, in: m,
                                                       debugDescription: "synthesis must be 'dense' or 'random', not '\(synthesis)'")
            }
        case "evit":
            config.tokenMixer = .tokenRemoval(TokenRemoval(
                keepRate: try m.decode(Double.self, forKey: .keepRate),
                shrinkingBlocks: try m.decodeIfPresent([Int].self, forKey: .shrinkingBlocks) ?? [],
                fusesTokens: try m.decodeIfPresent(Bool.self, forKey: .fusesTokens) ?? false))
            own = [.keepRate, .shrinkingBlocks, .fusesTokens]
        default:
            own = []
        }
        if let stray = m.allKeys.first(where: { !own.contains($0) }) {
            throw DecodingError.dataCorruptedError(forKey: stray, in: m,
                                                   debugDescription: "'\(stray.rawValue)' is not a field of a \(family) model")
        }
        return config
    }

    var prefixTokens: Int { classToken ? 1 : 0 }
    var hiddenDim: Int { Int(Double(embedDim) * mlpRatio) }
    var trainGrid: Int { imageSize / patchSize }
    /// Tokens at the trained size (class token included).
    var trainTokens: Int { trainGrid * trainGrid + prefixTokens }

    /// The blocks a checkpoint holds (`blocks.0…`): `depth`, or with TokenLearner the `L` blocks
    /// it runs twice and the TokenLearner itself (`blocks.L`).
    var storedBlocks: Int {
        if case .tokenLearner(let learning) = tokenMixer { return learning.blocksBefore(depth: depth) + 1 }
        return depth
    }

    /// The stored block each step runs, with the step's name in the reference (TokenLearner:
    /// blocks `0…L−1`, the TokenLearner, then blocks `0…L−1` again under the names `L+1…2L`).
    var blockSchedule: [(block: Int, label: String)] {
        if case .tokenLearner(let learning) = tokenMixer {
            let l = learning.blocksBefore(depth: depth)
            return (0...l).map { ($0, "blocks.\($0)") } + (0..<l).map { ($0, "blocks.\(l + 1 + $0)") }
        }
        return (0..<depth).map { ($0, "blocks.\($0)") }
    }

    func validate(model: String) throws(EngineError) {
        guard patchSize > 0, embedDim > 0, depth > 0, numHeads > 0, embedDim % numHeads == 0 else {
            throw .invalidConfiguration(model: model, reason: "embed_dim \(embedDim) must split into \(numHeads) heads")
        }
        guard embedDim % 16 == 0, (3 * embedDim) % 16 == 0, hiddenDim % 16 == 0 else {
            throw .invalidConfiguration(model: model, reason: "embed_dim and the MLP width must be multiples of 16")
        }
        guard ["token", "avg"].contains(globalPool), globalPool == "avg" || classToken else {
            throw .invalidConfiguration(model: model, reason: "global_pool must be 'token' (with a class token) or 'avg'")
        }
        switch tokenMixer {
        case .attention, .linearAttention, .factorizedDense, .polynomial: break
        case .performer(let features):
            guard features >= 1 else {
                throw .invalidConfiguration(model: model, reason: "a Performer needs nb_features ≥ 1")
            }
        case .nystrom(let l):
            guard l >= 1 else {
                throw .invalidConfiguration(model: model, reason: "a Nyströmformer needs num_landmarks ≥ 1")
            }
        case .factorizedRandom(let f):
            guard f >= 1 else {
                throw .invalidConfiguration(model: model, reason: "a random Synthesizer needs its factor rank f ≥ 1")
            }
        case .switchExperts(let e):
            guard e >= 1, !layerScale else {
                throw .invalidConfiguration(model: model, reason: "a Switch ViT needs n_experts ≥ 1 and no LayerScale")
            }
        case .linformer(let k):
            guard k > 0 else {
                throw .invalidConfiguration(model: model, reason: "a Linformer needs its projected length k ≥ 1")
            }
        case .fourier:
            guard numHeads == 1, !layerScale else {
                throw .invalidConfiguration(model: model, reason: "FNet blocks have one head and no LayerScale")
            }
        case .tokenMerging(let r):
            guard r >= 0, classToken else {
                throw .invalidConfiguration(model: model, reason: "ToMe needs r ≥ 0 tokens merged per block and a class token")
            }
        case .dynamicPruning(let pruning):
            guard pruning.locations.count == pruning.keepRatios.count, pruning.keepRatios.allSatisfy({ $0 > 0 && $0 <= 1 }),
                  pruning.locations.allSatisfy({ (0..<depth).contains($0) }), Set(pruning.locations).count == pruning.locations.count else {
                throw .invalidConfiguration(model: model, reason: "DynamicViT needs one token_ratio in (0, 1] per pruning_loc, "
                                                + "each a distinct block index (0..<\(depth))")
            }
            guard classToken, globalPool == "token" else {
                throw .invalidConfiguration(model: model, reason: "DynamicViT keeps the class token in front: it needs class_token "
                                                + "and global_pool 'token'")
            }
        case .tokenLearner(let learning):
            guard learning.tokens >= 1, learning.layerFraction > 0, learning.layerFraction <= 1 else {
                throw .invalidConfiguration(model: model,
                                            reason: "TokenLearner needs learned_tokens ≥ 1 and token_learner_layer_rel in (0, 1]")
            }
        case .tokenRemoval(let removal):
            guard removal.keepRate > 0, removal.keepRate <= 1 else {
                throw .invalidConfiguration(model: model, reason: "EViT needs a keep_rate in (0, 1]")
            }
            guard classToken, globalPool == "token", !noEmbedClass else {
                throw .invalidConfiguration(model: model,
                                            reason: "EViT ranks tokens by the class token's attention: it needs class_token, "
                                                + "global_pool 'token' and a position embedding over the class token")
            }
            if let bad = removal.shrinkingBlocks.first(where: { !(0..<depth).contains($0) }) {
                throw .invalidConfiguration(model: model, reason: "drop_loc \(bad) is not a block index (0..<\(depth))")
            }
        }
    }
}

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
