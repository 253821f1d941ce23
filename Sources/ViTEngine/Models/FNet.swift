/// FNet (Lee-Thorp et al., NAACL 2022, "FNet: Mixing Tokens with Fourier Transforms") as the
/// "Which Transformer to Favor" benchmark builds it into timm's ViT (`architectures/fnet.py`,
/// taxonomy class "MLP/FFT"): the attention of every block is replaced by
/// `torch.fft.fft2(x, dim=(-1, -2), norm="forward").real`, a parameter-free mixing over all
/// tokens — the class token included — and all channels. The model pools the patch tokens
/// (`global_pool="avg"`, then `fc_norm`).
///
/// The engine computes the transform exactly as dense real DFT products (``FourierKernel``): for
/// T = 197 tokens (prime) and C = 192 channels the GEMMs are as fast as an FFT on a CPU and
/// keep the arithmetic of every output element fixed.

/// A pre-norm block whose token mixer is the 2-D Fourier transform (the benchmark's `FNetBlock`).
struct FourierBlock: Sendable {
    var norm1: LayerNormLayer
    var norm2: LayerNormLayer
    var mlp: MLPLayer

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int) -> [TensorSpec] {
        TensorSpec.layerNorm(prefix + ".norm1", dim) + TensorSpec.layerNorm(prefix + ".norm2", dim)
            + MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden)
    }
}

extension ParameterLoader {
    mutating func fourierBlock(_ prefix: String, config c: VisionTransformerConfig) -> FourierBlock {
        FourierBlock(norm1: layerNorm(prefix + ".norm1", epsilon: c.layerNormEpsilon),
                     norm2: layerNorm(prefix + ".norm2", epsilon: c.layerNormEpsilon),
                     mlp: mlp(prefix + ".mlp"))
    }
}

extension GraphBuilder {
    mutating func fourierBlock(_ b: FourierBlock, _ tables: FourierTables, _ x: ValueID, label: String) -> ValueID {
        let s = shape(x)
        let mixed = add(.sequenceMixer(.fourier(tables)), input: layerNorm(b.norm1, x, label: label + ".norm1"),
                        residual: x, outputShape: s,
                        scratch: FourierKernel.scratchCount(tokens: s[1], channels: s[2]), label: label + ".attn")
        return feedForward(b.mlp, norm: b.norm2, mixed, label: label)
    }
}
