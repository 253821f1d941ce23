/// The configuration of a ViT (`VisionTransformer.swift`) and of the "Which Transformer to Favor"
/// benchmark's variants built on its trunk: the registry fields they share, each variant's token
/// mixer with its own fields (decoded by family, another variant's field refused by name), the
/// checks that make a configuration usable, and the order in which its blocks run.

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
        case .nystrom, .performer, .polynomial, .dynamicPruning:
            // Their blocks have no LayerScale in the benchmark's code (the Nyströmformer's would
            // scale the values it adds too, which folding γ into the projection cannot do).
            guard !layerScale else {
                throw .invalidConfiguration(model: model, reason: "this variant's blocks have no LayerScale (layer_scale must be false)")
            }
        default: break
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
            // The reference counts its predictors in block order: the locations must ascend.
            guard pruning.locations.count == pruning.keepRatios.count, pruning.keepRatios.allSatisfy({ $0 > 0 && $0 <= 1 }),
                  pruning.locations.allSatisfy({ (0..<depth).contains($0) }), pruning.locations == pruning.locations.sorted(),
                  Set(pruning.locations).count == pruning.locations.count else {
                throw .invalidConfiguration(model: model, reason: "DynamicViT needs one token_ratio in (0, 1] per pruning_loc, "
                                                + "each a block index (0..<\(depth)), in ascending order")
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
