/// ResNet (He et al., CVPR 2016) with bottleneck blocks, as timm's `resnet.py` builds `resnet50`:
/// a 7×7 stride-2 stem convolution, 3×3 stride-2 max pooling, four stages of bottlenecks
/// (1×1 → 3×3 (strided in the first block of a stage) → 1×1, each with BatchNorm, ReLU after the
/// residual add; a 1×1 strided projection shortcut where the shape changes), global average
/// pooling and a linear classifier. The CNN baseline of the efficiency study.

/// Hyper-parameters of a bottleneck ResNet (the registry's `resnet` object).
public struct ResNetConfig: Codable, Sendable, Equatable {
    /// Bottleneck blocks per stage (`[3, 4, 6, 3]` for ResNet-50).
    public var layers: [Int]
    /// Output channels of the stem, and the bottleneck width of the first stage.
    public var stemWidth: Int
    /// Output channels of a bottleneck per inner channel.
    public var expansion: Int
    public var inChannels: Int
    public var numClasses: Int

    enum CodingKeys: String, CodingKey {
        case layers, stemWidth = "stem_width", expansion, inChannels = "in_channels", numClasses = "num_classes"
    }

    func validate(model: String) throws(EngineError) {
        guard !layers.isEmpty, layers.allSatisfy({ $0 > 0 }), stemWidth > 0, stemWidth % 16 == 0, expansion > 0 else {
            throw .invalidConfiguration(model: model, reason: "layers must be positive and stem_width a multiple of 16")
        }
    }

    /// Inner (3×3) width of stage `s`: doubles per stage.
    func width(stage s: Int) -> Int { stemWidth << s }
}

/// Parameters of one ResNet after BatchNorm folding.
struct ResNet: Sendable {
    struct Bottleneck: Sendable {
        var reduce: FoldedConv, spatial: FoldedConv, expand: FoldedConv
        var shortcut: FoldedConv?
        var stride: Int
    }

    let config: ResNetConfig
    let parameters: ParameterStore
    let stem: FoldedConv
    let stages: [[Bottleneck]]
    let head: LinearLayer

    /// timm's names: `conv1`/`bn1`, `layerS.B.convK`/`bnK`, `layerS.B.downsample.{0,1}`, `fc`.
    static func tensorSpec(_ c: ResNetConfig) -> [TensorSpec] {
        var spec: [TensorSpec] = []
        func convNorm(_ conv: String, _ norm: String, _ shape: [Int]) { spec += TensorSpec.convNorm(conv, norm, shape) }
        convNorm("conv1", "bn1", [c.stemWidth, c.inChannels, 7, 7])
        var inChannels = c.stemWidth
        for (s, blocks) in c.layers.enumerated() {
            let width = c.width(stage: s), out = width * c.expansion
            for b in 0..<blocks {
                let p = "layer\(s + 1).\(b)"
                convNorm(p + ".conv1", p + ".bn1", [width, inChannels, 1, 1])
                convNorm(p + ".conv2", p + ".bn2", [width, width, 3, 3])
                convNorm(p + ".conv3", p + ".bn3", [out, width, 1, 1])
                if b == 0 { convNorm(p + ".downsample.0", p + ".downsample.1", [out, inChannels, 1, 1]) }
                inChannels = out
            }
        }
        spec += TensorSpec.linear("fc", in: inChannels, out: c.numClasses)
        return spec
    }

    static func checkpointKey(_ key: String) -> CheckpointKey? {
        key.hasSuffix(".num_batches_tracked") ? .ignored : .tensor(key)
    }

    init(config c: ResNetConfig, tensors t: CheckpointTensors) {
        var loader = ParameterLoader(t)
        func conv(_ conv: String, _ norm: String, kernel: Int, stride: Int = 1) -> FoldedConv {
            loader.convolution(conv, norm: norm, as: kernel == 1 ? .pointwise : .dense(kernel: kernel, stride: stride))
        }
        stem = conv("conv1", "bn1", kernel: 7, stride: 2)
        stages = c.layers.enumerated().map { s, blocks in
            (0..<blocks).map { b in
                let p = "layer\(s + 1).\(b)"
                let stride = b == 0 && s > 0 ? 2 : 1
                // (A strided 1×1 shortcut runs as a dense 1×1 convolution, which reads the same
                // packed layout as a pointwise one.)
                let shortcut = b == 0 ? conv(p + ".downsample.0", p + ".downsample.1", kernel: 1) : nil
                return Bottleneck(reduce: conv(p + ".conv1", p + ".bn1", kernel: 1),
                                  spatial: conv(p + ".conv2", p + ".bn2", kernel: 3, stride: stride),
                                  expand: conv(p + ".conv3", p + ".bn3", kernel: 1),
                                  shortcut: shortcut, stride: stride)
            }
        }
        head = loader.head("fc")
        config = c
        parameters = loader.build()
    }
}

extension ResNet: Architecture {
    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        var g = GraphBuilder(inputShape: [n, config.inChannels, height, width])
        var h = convolutionOutputSize(height, kernel: 7, stride: 2, padding: 3)
        var w = convolutionOutputSize(width, kernel: 7, stride: 2, padding: 3)

        func dense(_ c: FoldedConv, _ x: ValueID, kernel: Int, stride: Int, padding: Int, relu: Bool,
                   channelsLast: Bool = true, label: String) -> ValueID {
            g.convolution(c, x, kernel: kernel, stride: stride, padding: padding, activation: relu ? .relu : .identity,
                          channelsLast: channelsLast, label: label)
        }
        func pointwise(_ c: FoldedConv, _ x: ValueID, relu: Bool, residual: ValueID? = nil, label: String) -> ValueID {
            g.linear(LinearLayer(weight: c.weight, bias: c.bias, outFeatures: c.outChannels), x,
                     activation: relu ? .relu : .identity, residual: residual, label: label)
        }

        var x = dense(stem, g.graph.input, kernel: 7, stride: 2, padding: 3, relu: true, channelsLast: false, label: "conv1")
        h = convolutionOutputSize(h, kernel: 3, stride: 2, padding: 1)
        w = convolutionOutputSize(w, kernel: 3, stride: 2, padding: 1)
        x = g.add(.maxPool(kernel: 3, stride: 2, padding: 1), input: x, outputShape: [n, h, w, config.stemWidth],
                  label: "maxpool")
        for (s, blocks) in stages.enumerated() {
            for (b, block) in blocks.enumerated() {
                let p = "layer\(s + 1).\(b)"
                let shortcut = block.shortcut.map { c in
                    block.stride == 1 ? pointwise(c, x, relu: false, label: p + ".downsample")
                        : dense(c, x, kernel: 1, stride: block.stride, padding: 0, relu: false, label: p + ".downsample")
                } ?? x
                let reduced = pointwise(block.reduce, x, relu: true, label: p + ".conv1")
                let spatial = dense(block.spatial, reduced, kernel: 3, stride: block.stride, padding: 1, relu: true,
                                    label: p + ".conv2")
                x = pointwise(block.expand, spatial, relu: true, residual: shortcut, label: p + ".conv3")
            }
        }
        let features = g.add(.globalAveragePool, input: x, outputShape: [n, g.shape(x)[3]], label: "global_pool")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outFeatures], label: "fc")
        return g.finish(outputs: [logits, features])
    }
}

extension ResNetConfig: ModelFamily {
    static var registryFamilies: [String] { ["resnet"] }
    var tensorSpec: [TensorSpec] { ResNet.tensorSpec(self) }
    func checkpointKeyMap(names: [String]) -> (String) -> CheckpointKey? { ResNet.checkpointKey }
    func makeArchitecture(tensors: CheckpointTensors) -> any Architecture { ResNet(config: self, tensors: tensors) }
}
