/// Reads a checkpoint's tensors by dotted name and stores them in the layouts the kernels read,
/// folding what can be folded at load (LayerScale into the preceding linear layer). One loader
/// serves every transformer architecture file, so each file only names its tensors.
struct ParameterLoader {
    let tensors: CheckpointTensors
    private(set) var store = ParameterStoreBuilder()

    init(_ tensors: CheckpointTensors) { self.tensors = tensors }

    /// The tensor of that canonical name, as read.
    subscript(name: String) -> [Float] { tensors[name] }

    /// Stores a tensor as it is.
    mutating func add(_ values: [Float], name: String) -> ParamID { store.add(values, name: name) }

    /// Stores a PyTorch-layout weight in `layout` (see ``ParameterStoreBuilder/add(_:outChannels:as:name:)``).
    mutating func add(_ w: [Float], outChannels: Int, as layout: WeightLayout.Convolution, name: String) -> ParamID {
        store.add(w, outChannels: outChannels, as: layout, name: name)
    }

    /// Stores a convolution whose weight the architecture computed itself (PyTorch layout), in
    /// `layout`; see ``ParameterStoreBuilder/convolution(weight:bias:as:name:)``.
    mutating func convolution(weight: [Float], bias: [Float], as layout: WeightLayout.Convolution,
                              name: String) -> FoldedConv {
        store.convolution(weight: weight, bias: bias, as: layout, name: name)
    }

    /// `nn.Linear` `prefix.weight` `[out, in]` (+ `prefix.bias`, or zeros when `bias` is false),
    /// packed for the GEMM. `outputScale` multiplies each output (a LayerScale `γ` folded in:
    /// `γ ⊙ (W·x + b) = (diag(γ)·W)·x + γ ⊙ b`), computed in double and rounded once.
    mutating func linear(_ prefix: String, bias hasBias: Bool = true, outputScale: [Float]? = nil) -> LinearLayer {
        var w = tensors[prefix + ".weight"]
        let outFeatures = tensors.shape(prefix + ".weight")[0]
        var b = hasBias ? tensors[prefix + ".bias"] : [Float](repeating: 0, count: outFeatures)
        if let g = outputScale {
            let k = w.count / outFeatures
            for o in 0..<outFeatures {
                for i in 0..<k { w[o * k + i] = Float(Double(w[o * k + i]) * Double(g[o])) }
                b[o] = Float(Double(b[o]) * Double(g[o]))
            }
        }
        return packed(weight: w, bias: b, name: prefix)
    }

    /// `nn.Linear` layers on the same input (Linformer's and the Performer's `to_q`, `to_k`,
    /// `to_v`) as one layer whose outputs are theirs side by side, so they run as one GEMM; with
    /// `bias`, each layer's bias is read, otherwise they have none.
    mutating func stackedLinear(_ prefixes: [String], bias: Bool = false, name: String) -> LinearLayer {
        let w = prefixes.flatMap { tensors[$0 + ".weight"] }
        let outFeatures = prefixes.reduce(0) { $0 + tensors.shape($1 + ".weight")[0] }
        let b = bias ? prefixes.flatMap { tensors[$0 + ".bias"] } : [Float](repeating: 0, count: outFeatures)
        return packed(weight: w, bias: b, name: name)
    }

    private mutating func packed(weight w: [Float], bias b: [Float], name: String) -> LinearLayer {
        return LinearLayer(weight: store.add(w, outChannels: b.count, as: .pointwise, name: name + ".weight"),
                           bias: store.add(b, name: name + ".bias"), outFeatures: b.count)
    }

    /// The classifier head `prefix` (an `nn.Linear`), packed for the GEMM like any linear layer.
    mutating func head(_ prefix: String) -> LinearLayer {
        packed(weight: tensors[prefix + ".weight"], bias: tensors[prefix + ".bias"], name: prefix)
    }

    /// A small `nn.Linear` kept in PyTorch's `[out, in]` layout, for the kernels that apply it
    /// themselves (the talking-heads mixes across a few heads).
    mutating func unpackedLinear(_ prefix: String) -> LinearLayer {
        let b = tensors[prefix + ".bias"]
        return LinearLayer(weight: store.add(tensors[prefix + ".weight"], name: prefix + ".weight"),
                           bias: store.add(b, name: prefix + ".bias"), outFeatures: b.count)
    }

    /// A plain `nn.Conv2d` with bias (a patch embedding): `prefix.weight` `[out, in, k, k]` in the
    /// dense convolution's packed layout, and `prefix.bias`.
    mutating func convolution(_ prefix: String) -> FoldedConv {
        let kernel = tensors.shape(prefix + ".weight")[3]
        return store.convolution(weight: tensors[prefix + ".weight"], bias: tensors[prefix + ".bias"],
                                 as: .dense(kernel: kernel, stride: kernel), name: prefix)
    }

    /// A convolution `conv.weight` (with `conv.bias` when `convBias`) followed by the BatchNorm at
    /// `norm`, folded into one convolution stored in `layout`; `outputScale` (a LayerScale γ after
    /// the norm) folded in too.
    mutating func convolution(_ conv: String, norm: String, as layout: WeightLayout.Convolution,
                              convBias: Bool = false, outputScale: [Float]? = nil) -> FoldedConv {
        let (w, b) = BatchNormFolding.convNorm(tensors, weight: conv + ".weight", bias: convBias ? conv + ".bias" : nil,
                                               norm: norm, outputScale: outputScale)
        return store.convolution(weight: w, bias: b, as: layout, name: conv)
    }

    /// A depthwise `nn.Conv2d` with bias (`[C, 1, k, k]`) in the depthwise kernel's tap-major
    /// layout; `outputScale` (a LayerScale γ after it) multiplies each channel's weights and bias,
    /// in double, rounded once.
    mutating func depthwise(_ prefix: String, outputScale: [Float]? = nil) -> FoldedConv {
        let shape = tensors.shape(prefix + ".weight")
        var w = tensors[prefix + ".weight"], b = tensors[prefix + ".bias"]
        if let g = outputScale {
            let perChannel = w.count / shape[0]
            for c in 0..<shape[0] {
                for i in 0..<perChannel { w[c * perChannel + i] = Float(Double(w[c * perChannel + i]) * Double(g[c])) }
                b[c] = Float(Double(b[c]) * Double(g[c]))
            }
        }
        return store.convolution(weight: w, bias: b, as: .depthwise(kernel: shape[3]), name: prefix)
    }

    /// `nn.LayerNorm` `prefix.weight`, `prefix.bias`.
    mutating func layerNorm(_ prefix: String, epsilon: Double) -> LayerNormLayer {
        LayerNormLayer(weight: store.add(tensors[prefix + ".weight"], name: prefix + ".weight"),
                       bias: store.add(tensors[prefix + ".bias"], name: prefix + ".bias"),
                       epsilon: Float(epsilon))
    }

    func build() -> ParameterStore { store.build() }
}

/// A linear layer whose weight is packed for the GEMM (or `[out, in]`, see
/// ``ParameterLoader/unpackedLinear(_:)``).
struct LinearLayer: Sendable {
    var weight: ParamID
    var bias: ParamID
    var outFeatures: Int
}

struct LayerNormLayer: Sendable {
    var weight: ParamID
    var bias: ParamID
    var epsilon: Float
}
