/// The Switch Transformer's mixture-of-experts MLP (Fedus et al., JMLR 2022, "Switch
/// Transformers") as the "Which Transformer to Favor" benchmark builds it into timm's ViT
/// (`architectures/switch_transformer.py`, `switch_8_vit_*`, the taxonomy's MLP-block class
/// "mixture of experts"): each block keeps timm's attention, and its MLP becomes 8 experts (timm
/// `Mlp`s) and a router `switch` (`nn.Linear(C, 8)`). Every token goes to the one expert whose
/// routing probability `softmax(switch(x))` is largest, and at inference its output is that
/// expert's output unscaled (the benchmark multiplies by `p / p.detach()`, which is 1; no token
/// is dropped: `drop_tokens=False`).

/// The routed MLP of one block.
struct SwitchExperts: Sendable {
    /// The router `[experts, C]` in PyTorch's layout, and its bias.
    var routerWeight: ParamID
    var routerBias: ParamID
    var experts: [MLPLayer]
    var hidden: Int

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, experts: Int) -> [TensorSpec] {
        (0..<experts).flatMap { MLPLayer.tensorSpec("\(prefix).experts.\($0)", dim: dim, hidden: hidden) }
            + TensorSpec.linear(prefix + ".switch", in: dim, out: experts)
    }
}

/// A pre-norm block with timm's attention and a switch MLP (the benchmark's `SwitchBlock`).
struct SwitchBlock: Sendable {
    var norm1: LayerNormLayer
    var qkv: LinearLayer
    var heads: Int
    var proj: LinearLayer
    var norm2: LayerNormLayer
    var mlp: SwitchExperts

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, qkvBias: Bool, experts: Int) -> [TensorSpec] {
        TensorSpec.layerNorm(prefix + ".norm1", dim)
            + TensorSpec.linear(prefix + ".attn.qkv", in: dim, out: 3 * dim, bias: qkvBias)
            + TensorSpec.linear(prefix + ".attn.proj", in: dim, out: dim)
            + TensorSpec.layerNorm(prefix + ".norm2", dim)
            + SwitchExperts.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden, experts: experts)
    }
}

extension ParameterLoader {
    mutating func switchBlock(_ prefix: String, config c: VisionTransformerConfig, experts count: Int) -> SwitchBlock {
        let m = prefix + ".mlp"
        let experts = (0..<count).map { mlp("\(m).experts.\($0)") }
        return SwitchBlock(
            norm1: layerNorm(prefix + ".norm1", epsilon: c.layerNormEpsilon),
            qkv: linear(prefix + ".attn.qkv", bias: c.qkvBias), heads: c.numHeads,
            proj: linear(prefix + ".attn.proj"),
            norm2: layerNorm(prefix + ".norm2", epsilon: c.layerNormEpsilon),
            mlp: SwitchExperts(routerWeight: add(self[m + ".switch.weight"], name: m + ".switch.weight"),
                               routerBias: add(self[m + ".switch.bias"], name: m + ".switch.bias"),
                               experts: experts, hidden: c.hiddenDim))
    }
}

extension GraphBuilder {
    mutating func switchBlock(_ b: SwitchBlock, _ x: ValueID, label: String) -> ValueID {
        let s = shape(x)
        let attended = selfAttention(qkv: b.qkv, proj: b.proj, heads: b.heads,
                                     layerNorm(b.norm1, x, label: label + ".norm1"), residual: x,
                                     label: label + ".attn")
        return add(.switchExperts(b.mlp), input: layerNorm(b.norm2, attended, label: label + ".norm2"),
                   residual: attended, outputShape: s,
                   scratch: SwitchKernel.scratchCount(tokens: s[1], channels: s[2], hidden: b.mlp.hidden,
                                                      experts: b.mlp.experts.count),
                   label: label + ".mlp")
    }
}
