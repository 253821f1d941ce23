/// The pre-norm transformer block of ViT/DeiT and the layers it is made of, shared by every
/// architecture built from them (timm's `Block`, `Attention`, `Mlp`, `LayerScale`):
///
///     x = x + ls1(proj(attention(qkv(norm1(x)))))
///     x = x + ls2(fc2(gelu(fc1(norm2(x)))))
///
/// LayerScale is folded into `proj` and `fc2` at load, so a block is six fused nodes.
struct TransformerBlock: Sendable {
    var norm1: LayerNormLayer
    var qkv: LinearLayer
    var heads: Int
    var proj: LinearLayer
    var norm2: LayerNormLayer
    var mlp: MLPLayer

    /// Tensors of a block at `prefix` (`blocks.3`), with their shapes.
    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, qkvBias: Bool, layerScale: Bool) -> [TensorSpec] {
        var spec = TensorSpec.layerNorm(prefix + ".norm1", dim)
        spec += TensorSpec.linear(prefix + ".attn.qkv", in: dim, out: 3 * dim, bias: qkvBias)
        spec += TensorSpec.linear(prefix + ".attn.proj", in: dim, out: dim)
        if layerScale { spec.append(TensorSpec(name: prefix + ".ls1.gamma", shape: [dim])) }
        spec += TensorSpec.layerNorm(prefix + ".norm2", dim)
        spec += MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden)
        if layerScale { spec.append(TensorSpec(name: prefix + ".ls2.gamma", shape: [dim])) }
        return spec
    }
}

/// timm's `Mlp`: `fc2(gelu(fc1(x)))`.
struct MLPLayer: Sendable {
    var fc1: LinearLayer
    var fc2: LinearLayer

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, out: Int? = nil) -> [TensorSpec] {
        TensorSpec.linear(prefix + ".fc1", in: dim, out: hidden) + TensorSpec.linear(prefix + ".fc2", in: hidden, out: out ?? dim)
    }
}

extension TensorSpec {
    /// `nn.Linear` tensors.
    static func linear(_ prefix: String, in k: Int, out m: Int, bias: Bool = true) -> [TensorSpec] {
        [TensorSpec(name: prefix + ".weight", shape: [m, k])] + (bias ? [TensorSpec(name: prefix + ".bias", shape: [m])] : [])
    }

    /// A convolution (bias-free unless `convBias`) and the BatchNorm after it (running statistics
    /// included).
    static func convNorm(_ conv: String, _ norm: String, _ shape: [Int], convBias: Bool = false) -> [TensorSpec] {
        [TensorSpec(name: conv + ".weight", shape: shape)]
            + (convBias ? [TensorSpec(name: conv + ".bias", shape: [shape[0]])] : [])
            + ["weight", "bias", "running_mean", "running_var"].map { TensorSpec(name: "\(norm).\($0)", shape: [shape[0]]) }
    }

    /// `nn.LayerNorm` tensors.
    static func layerNorm(_ prefix: String, _ dim: Int) -> [TensorSpec] {
        [TensorSpec(name: prefix + ".weight", shape: [dim]), TensorSpec(name: prefix + ".bias", shape: [dim])]
    }
}

extension ParameterLoader {
    mutating func mlp(_ prefix: String, outputScale: [Float]? = nil) -> MLPLayer {
        MLPLayer(fc1: linear(prefix + ".fc1"), fc2: linear(prefix + ".fc2", outputScale: outputScale))
    }

    mutating func transformerBlock(_ prefix: String, heads: Int, qkvBias: Bool, layerScale: Bool,
                                   epsilon: Double) -> TransformerBlock {
        let ls1 = layerScale ? self[prefix + ".ls1.gamma"] : nil
        let ls2 = layerScale ? self[prefix + ".ls2.gamma"] : nil
        return TransformerBlock(
            norm1: layerNorm(prefix + ".norm1", epsilon: epsilon),
            qkv: linear(prefix + ".attn.qkv", bias: qkvBias), heads: heads,
            proj: linear(prefix + ".attn.proj", outputScale: ls1),
            norm2: layerNorm(prefix + ".norm2", epsilon: epsilon),
            mlp: mlp(prefix + ".mlp", outputScale: ls2))
    }
}

extension GraphBuilder {
    /// A linear layer on the last dimension of any value (every pixel or token).
    mutating func linear(_ l: LinearLayer, _ x: ValueID, activation: Activation = .identity,
                         residual: ValueID? = nil, label: String) -> ValueID {
        add(.pointwise(weight: l.weight, bias: l.bias, activation: activation), input: x, residual: residual,
            outputShape: shape(x).dropLast() + [l.outFeatures], label: label)
    }

    mutating func layerNorm(_ n: LayerNormLayer, _ x: ValueID, label: String) -> ValueID {
        add(.layerNorm(weight: n.weight, bias: n.bias, epsilon: n.epsilon), input: x, outputShape: shape(x),
            label: label)
    }

    /// `x + fc2(gelu(fc1(x)))` when `residual` is `x`.
    mutating func mlp(_ m: MLPLayer, _ x: ValueID, residual: ValueID?, label: String) -> ValueID {
        let layer = FeedForwardLayer(expandWeight: m.fc1.weight, expandBias: m.fc1.bias, hidden: m.fc1.outFeatures,
                                     activation: .gelu, reduceWeight: m.fc2.weight, reduceBias: m.fc2.bias)
        return feedForward(layer, x, outChannels: m.fc2.outFeatures, residual: residual, label: label)
    }

    /// The second half of every pre-norm block: `x + fc2(gelu(fc1(norm2(x))))`, labelled
    /// `label.norm2` and `label.mlp` as timm names them.
    mutating func feedForward(_ m: MLPLayer, norm: LayerNormLayer, _ x: ValueID, label: String) -> ValueID {
        mlp(m, layerNorm(norm, x, label: label + ".norm2"), residual: x, label: label + ".mlp")
    }

    /// Multi-head self-attention over a `[N, T, C]` sequence: qkv, attention, projection (+ residual).
    mutating func selfAttention(qkv: LinearLayer, proj: LinearLayer, heads: Int, _ x: ValueID,
                                residual: ValueID?, label: String) -> ValueID {
        selfAttentionKeepingQKV(qkv: qkv, proj: proj, heads: heads, x, residual: residual, label: label).output
    }

    /// ``selfAttention(qkv:proj:heads:_:residual:label:)`` that also returns its qkv projection,
    /// for layers that read the queries or keys again (EViT's class attention).
    mutating func selfAttentionKeepingQKV(qkv: LinearLayer, proj: LinearLayer, heads: Int, _ x: ValueID,
                                          residual: ValueID?, label: String) -> (qkv: ValueID, output: ValueID) {
        let s = shape(x)
        let dim = qkv.outFeatures / 3, headDim = dim / heads
        let q = linear(qkv, x, label: label + ".qkv")
        let a = add(.selfAttention(heads: heads, headDim: headDim, scale: Float(1 / Double(headDim).squareRoot())),
                    input: q, outputShape: [s[0], s[1], dim],
                    scratch: SelfAttentionKernel.scratchCount(tokens: s[1]), label: label)
        return (q, linear(proj, a, residual: residual, label: label + ".proj"))
    }

    mutating func transformerBlock(_ b: TransformerBlock, _ x: ValueID, label: String) -> ValueID {
        let attended = selfAttention(qkv: b.qkv, proj: b.proj, heads: b.heads,
                                     layerNorm(b.norm1, x, label: label + ".norm1"), residual: x,
                                     label: label + ".attn")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
