/// GFNet (Rao et al., NeurIPS 2021, "Global Filter Networks for Image Classification") as the
/// "Which Transformer to Favor" benchmark builds it (`architectures/gfnet.py`, taxonomy class
/// "MLP/FFT"): a stride-`p` patch convolution and a position embedding over the patches (no class
/// token), blocks `x + mlp(norm2(filter(norm1(x))))` — one residual around the global filter and
/// the MLP together — a final LayerNorm, the mean over tokens and a linear head.
///
/// The global filter is `irfft2(rfft2(x) ⊙ W)` over the `h × w` patch grid, per channel
/// (`norm="ortho"`), with a learned complex `W` of `h × (w/2 + 1)` frequencies. The engine computes
/// it as dense real DFT products (``GlobalFilter``, `GlobalFilterKernel.swift`): at the grids these
/// models run (14 × 14 at 224²) the products are small GEMMs and need no FFT.
///
/// At another input size the benchmark's `set_image_res` resizes, and so does the engine: the
/// position embedding and each filter's weights bilinearly (`F.interpolate`, no antialiasing),
/// square sizes only, since the filter reshapes the sequence into a square grid.

import Foundation

/// Hyper-parameters of a GFNet (the registry's `gfnet` object; names follow the benchmark's
/// `GFNet` arguments).
public struct GFNetConfig: Codable, Sendable, Equatable {
    public var patchSize: Int
    public var embedDim: Int
    public var depth: Int
    public var mlpRatio: Double
    /// The image side the position embedding and the filters were built for.
    public var imageSize: Int
    public var layerNormEpsilon: Double
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", embedDim = "embed_dim", depth, mlpRatio = "mlp_ratio"
        case imageSize = "img_size", layerNormEpsilon = "layer_norm_eps"
        case inChannels = "in_channels", numClasses = "num_classes"
    }

    /// The patch grid's side at the training resolution (the filters' `h`).
    var trainGrid: Int { imageSize / patchSize }
    /// The MLP's hidden width (timm's `Mlp`: `int(dim · mlp_ratio)`).
    var hiddenDim: Int { Int(Double(embedDim) * mlpRatio) }

    func validate(model: String) throws(EngineError) {
        guard patchSize > 0, embedDim > 0, depth > 0, mlpRatio > 0, imageSize >= patchSize, hiddenDim > 0 else {
            throw .invalidConfiguration(model: model,
                                        reason: "patch_size, embed_dim, depth, mlp_ratio must be positive and img_size ≥ patch_size")
        }
    }
}

/// One GFNet block: `x + mlp(norm2(filter(norm1(x))))`.
struct GlobalFilterBlock: Sendable {
    var norm1: LayerNormLayer
    /// The benchmark's `complex_weight` as read: `[h, w/2 + 1, C, 2]` (real, imaginary).
    var filterWeight: [Float]
    var norm2: LayerNormLayer
    var mlp: MLPLayer
}

/// Parameters of one GFNet, laid out for graph building.
struct GFNet: Sendable {
    let config: GFNetConfig
    let parameters: ParameterStore
    let patchEmbed: FoldedConv
    /// `[h·w, C]` position embedding as read (training grid).
    let positionEmbedding: [Float]
    let blocks: [GlobalFilterBlock]
    let norm: LayerNormLayer
    let head: LinearLayer

    /// Every tensor of the checkpoint in the benchmark's layout, with its shape, in state-dict order.
    static func tensorSpec(_ c: GFNetConfig) -> [TensorSpec] {
        let d = c.embedDim, h = c.trainGrid
        var spec = [TensorSpec(name: "pos_embed", shape: [1, h * h, d]),
                    TensorSpec(name: "patch_embed.proj.weight", shape: [d, c.inChannels, c.patchSize, c.patchSize]),
                    TensorSpec(name: "patch_embed.proj.bias", shape: [d])]
        for i in 0..<c.depth {
            let p = "blocks.\(i)"
            spec += TensorSpec.layerNorm(p + ".norm1", d)
            spec.append(TensorSpec(name: p + ".filter.complex_weight", shape: [h, h / 2 + 1, d, 2]))
            spec += TensorSpec.layerNorm(p + ".norm2", d)
            spec += MLPLayer.tensorSpec(p + ".mlp", dim: d, hidden: c.hiddenDim)
        }
        spec += TensorSpec.layerNorm("norm", d)
        spec += TensorSpec.linear("head", in: d, out: c.numClasses)
        return spec
    }

    /// The benchmark's checkpoints hold the model's own names, possibly wrapped by `torch.compile`
    /// (`_orig_mod.`) or DistributedDataParallel (`module.`).
    static func checkpointKey(_ key: String) -> CheckpointKey? { .tensor(CheckpointKey.unwrapped(key)) }

    init(config c: GFNetConfig, tensors t: CheckpointTensors) {
        var loader = ParameterLoader(t)
        positionEmbedding = t["pos_embed"]
        patchEmbed = loader.convolution("patch_embed.proj")
        blocks = (0..<c.depth).map { i in
            let p = "blocks.\(i)"
            return GlobalFilterBlock(norm1: loader.layerNorm(p + ".norm1", epsilon: c.layerNormEpsilon),
                                     filterWeight: t[p + ".filter.complex_weight"],
                                     norm2: loader.layerNorm(p + ".norm2", epsilon: c.layerNormEpsilon),
                                     mlp: loader.mlp(p + ".mlp"))
        }
        norm = loader.layerNorm("norm", epsilon: c.layerNormEpsilon)
        head = loader.head("head")
        config = c
        parameters = loader.build()
    }

    /// The benchmark's `set_image_res` for a `side × side` grid: bilinear, as `F.interpolate` does it.
    func positions(grid side: Int) -> [Float] {
        let train = config.trainGrid
        return side == train ? positionEmbedding
            : Interpolation.linear.resample(positionEmbedding, from: (train, train), to: (side, side),
                                            channels: config.embedDim)
    }
}

extension GFNet: Architecture {
    func inputProblem(height: Int, width: Int) -> String? {
        let p = config.patchSize
        guard height >= p, width >= p else { return "H, W ≥ \(p) (one \(p)×\(p) patch)" }
        guard height / p == width / p else {
            return "a square patch grid (H / \(p) = W / \(p)): the global filter reshapes the tokens into a square grid"
        }
        return nil
    }

    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        let c = config, d = c.embedDim, side = height / c.patchSize
        var g = GraphBuilder(inputShape: [n, c.inChannels, height, width])
        let patches = g.convolution(patchEmbed, g.graph.input, kernel: c.patchSize, stride: c.patchSize, padding: 0,
                                    activation: .identity, channelsLast: false, label: "patch_embed.proj")
        let tokens = side * side
        var x = g.add(.embedTokens(TokenEmbedding(prefixCount: 0, addend: positions(grid: side))), input: patches,
                      outputShape: [n, tokens, d], label: "pos_embed")
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)"
            let filter = GlobalFilter(weight: b.filterWeight, trainGrid: c.trainGrid, grid: side, channels: d)
            let filtered = g.add(.family(filter), input: g.layerNorm(b.norm1, x, label: p + ".norm1"),
                                 outputShape: [n, tokens, d], scratch: filter.scratchPerItem, label: p + ".filter")
            x = g.mlp(b.mlp, g.layerNorm(b.norm2, filtered, label: p + ".norm2"), residual: x, label: p + ".mlp")
        }
        // The mean follows the LayerNorm of every token (not linear: it cannot be pooled first).
        let normed = g.layerNorm(norm, x, label: "norm")
        let features = g.add(.tokenPool(.mean(skipping: 0)), input: normed, outputShape: [n, d], label: "pool")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "head")
        return g.finish(outputs: [logits, features])
    }
}

extension GFNetConfig: ModelFamily {
    static var registryFamilies: [String] { ["gfnet"] }
    var tensorSpec: [TensorSpec] { GFNet.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { GFNet.checkpointKey }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { GFNet(config: self, tensors: tensors) }
}
