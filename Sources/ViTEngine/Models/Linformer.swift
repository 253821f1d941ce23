/// Linformer (Wang et al., 2020, "Linformer: Self-Attention with Linear Complexity") as the
/// "Which Transformer to Favor" benchmark builds it into timm's ViT (`architectures/linformer.py`,
/// taxonomy class "low-rank"): keys and values are projected along the token axis by learned
/// `[T, k]` matrices (`proj_k`, `proj_v`; T counts the class token) before softmax attention, so
/// attention costs `T·k` instead of `T²`. The benchmark's default `k = 256` exceeds T = 197 at
/// 224×224, so there the projection widens rather than shortens the sequence.
///
/// At another resolution the benchmark's `set_image_res` resizes the projections: the patch rows,
/// seen as a `k`-channel grid, bilinearly (`F.interpolate`, no antialiasing), the class-token row
/// kept.

/// The attention of one Linformer block: `to_q`, `to_k`, `to_v` (no biases) run as one stacked
/// GEMM; `to_out` follows with the residual.
struct LinformerAttention: Sendable {
    var qkv: LinearLayer
    var out: LinearLayer
    var heads: Int
    var length: Int
    /// `proj_k` then `proj_v`, `[2, trainTokens, length]`, as trained.
    var projections: [Float]
    var trainGrid: Int
    var prefixTokens: Int

    static func tensorSpec(_ prefix: String, dim: Int, tokens: Int, length: Int) -> [TensorSpec] {
        [TensorSpec(name: prefix + ".proj_k", shape: [tokens, length]),
         TensorSpec(name: prefix + ".proj_v", shape: [tokens, length])]
            + ["to_q", "to_k", "to_v"].flatMap { TensorSpec.linear(prefix + "." + $0, in: dim, out: dim, bias: false) }
            + TensorSpec.linear(prefix + ".to_out", in: dim, out: dim)
    }

    /// The projections for a `grid.height × grid.width` patch grid (square, as the benchmark resizes).
    func tables(grid: (height: Int, width: Int)) -> LinformerTables {
        let headDim = out.outFeatures / heads
        let trained = trainGrid * trainGrid + prefixTokens
        var resized: [Float] = []
        for table in 0..<2 {
            let rows = projections[(table * trained * length)..<((table + 1) * trained * length)]
            let prefix = Array(rows.prefix(prefixTokens * length))
            let patches = Array(rows.dropFirst(prefixTokens * length))
            resized += prefix + (grid.height == trainGrid && grid.width == trainGrid ? patches
                : Interpolation.linear.resample(patches, from: (trainGrid, trainGrid), to: grid, channels: length))
        }
        return LinformerTables(heads: heads, headDim: headDim, length: length, projections: resized,
                               scale: Float(1 / Double(headDim).squareRoot()))
    }
}

/// A pre-norm transformer block whose attention is Linformer's (the benchmark's `LinformerBlock`).
struct LinformerBlock: Sendable {
    var norm1: LayerNormLayer
    var attention: LinformerAttention
    var norm2: LayerNormLayer
    var mlp: MLPLayer

    static func tensorSpec(_ prefix: String, dim: Int, hidden: Int, tokens: Int, length: Int) -> [TensorSpec] {
        TensorSpec.layerNorm(prefix + ".norm1", dim)
            + LinformerAttention.tensorSpec(prefix + ".attn", dim: dim, tokens: tokens, length: length)
            + TensorSpec.layerNorm(prefix + ".norm2", dim)
            + MLPLayer.tensorSpec(prefix + ".mlp", dim: dim, hidden: hidden)
    }
}

extension ParameterLoader {
    mutating func linformerBlock(_ prefix: String, config c: VisionTransformerConfig, length: Int) -> LinformerBlock {
        let ls1 = c.layerScale ? self[prefix + ".ls1.gamma"] : nil
        let ls2 = c.layerScale ? self[prefix + ".ls2.gamma"] : nil
        let a = prefix + ".attn"
        let attention = LinformerAttention(
            qkv: stackedLinear(["to_q", "to_k", "to_v"].map { a + "." + $0 }, name: a + ".to_qkv"),
            out: linear(a + ".to_out", outputScale: ls1), heads: c.numHeads, length: length,
            projections: self[a + ".proj_k"] + self[a + ".proj_v"], trainGrid: c.trainGrid,
            prefixTokens: c.prefixTokens)
        return LinformerBlock(norm1: layerNorm(prefix + ".norm1", epsilon: c.layerNormEpsilon), attention: attention,
                              norm2: layerNorm(prefix + ".norm2", epsilon: c.layerNormEpsilon),
                              mlp: mlp(prefix + ".mlp", outputScale: ls2))
    }
}

extension GraphBuilder {
    mutating func linformerBlock(_ b: LinformerBlock, _ tables: LinformerTables, _ x: ValueID,
                                 label: String) -> ValueID {
        let s = shape(x)
        let qkv = linear(b.attention.qkv, layerNorm(b.norm1, x, label: label + ".norm1"), label: label + ".attn.to_qkv")
        let mixed = add(.sequenceMixer(.linformer(tables)), input: qkv, outputShape: s,
                        scratch: LinformerKernel.scratchCount(tokens: s[1], length: tables.length,
                                                              headDim: tables.headDim),
                        label: label + ".attn")
        let attended = linear(b.attention.out, mixed, residual: x, label: label + ".attn.to_out")
        return feedForward(b.mlp, norm: b.norm2, attended, label: label)
    }
}
