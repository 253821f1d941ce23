/// Lowers an EfficientViT to a graph of fused layers for one input shape.
extension EfficientViT: Architecture {
    func graph(batch n: Int, height: Int, width: Int) -> Graph {
        var g = GraphBuilder(inputShape: [n, config.inChannels, height, width])
        var h = height, w = width
        var x = g.graph.input

        func pointwise(_ c: FoldedConv, _ input: ValueID, activation act: Activation = .identity,
                       residual: ValueID? = nil, label: String) -> ValueID {
            g.add(.pointwise(weight: c.weight, bias: c.bias, activation: act), input: input, residual: residual,
                  outputShape: [n, h, w, c.outChannels], label: label)
        }
        /// `x + dw(x)`, or a strided depthwise conv without residual.
        func depthwise(_ c: FoldedConv, _ input: ValueID, stride: Int = 1, activation act: Activation = .identity,
                       residual: ValueID? = nil, label: String) -> ValueID {
            if stride == 2 { h = EfficientViTConfig.halved(h); w = EfficientViTConfig.halved(w) }
            return g.add(.depthwise(weight: c.weight, bias: c.bias, kernel: 3, stride: stride, activation: act),
                         input: input, residual: residual, outputShape: [n, h, w, c.outChannels], label: label)
        }
        /// `x + pw2(relu(pw1(x)))`.
        func ffn(_ f: FFN, _ input: ValueID, _ label: String) -> ValueID {
            let layer = FeedForwardLayer(expandWeight: f.expand.weight, expandBias: f.expand.bias,
                                         hidden: f.expand.outChannels, activation: .relu,
                                         reduceWeight: f.reduce.weight, reduceBias: f.reduce.bias)
            return g.feedForward(layer, input, outChannels: f.reduce.outChannels, residual: input, label: label)
        }

        // The stem reads the caller's NCHW input; everything after it is channels-last.
        for (i, c) in patchEmbed.enumerated() {
            h = EfficientViTConfig.halved(h); w = EfficientViTConfig.halved(w)
            x = g.convolution(c, x, kernel: 3, stride: 2, padding: 1, activation: i < 3 ? .relu : .identity,
                              channelsLast: i > 0, label: "patch_embed.conv\(i + 1)")
        }
        for (s, stage) in stages.enumerated() {
            if let d = stage.downsample {
                let p = "stages.\(s).downsample"
                x = depthwise(d.dw1, x, residual: x, label: p + ".res1.0")
                x = ffn(d.ffn1, x, p + ".res1.1")
                var y = pointwise(d.expand, x, activation: .relu, label: p + ".patchmerge.conv1")
                y = depthwise(d.spatial, y, stride: 2, activation: .relu, label: p + ".patchmerge.conv2")
                let hidden = d.squeeze.expand.outChannels
                y = g.add(.squeezeExcite(reduceWeight: d.squeeze.reduce.weight, reduceBias: d.squeeze.reduce.bias,
                                         expandWeight: d.squeeze.expand.weight, expandBias: d.squeeze.expand.bias,
                                         reduced: d.squeeze.reduce.outChannels),
                          input: y, outputShape: [n, h, w, hidden],
                          scratch: ReductionKernels.squeezeExciteScratchCount(
                              batch: n, channels: hidden, reduced: d.squeeze.reduce.outChannels),
                          label: p + ".patchmerge.se")
                x = pointwise(d.project, y, label: p + ".patchmerge.conv3")
                x = depthwise(d.dw2, x, residual: x, label: p + ".res2.0")
                x = ffn(d.ffn2, x, p + ".res2.1")
            }
            for (b, block) in stage.blocks.enumerated() {
                let p = "stages.\(s).blocks.\(b)"
                x = depthwise(block.dw0, x, residual: x, label: p + ".dw0")
                x = ffn(block.ffn0, x, p + ".ffn0.m")
                let a = block.attention
                let heads = g.add(.cascadedAttention(a), input: x,
                                  outputShape: [n, h, w, a.heads * a.valueDim],
                                  scratch: CascadedAttentionKernel.scratchCount(a), label: p + ".mixer.m.attn")
                x = pointwise(block.projection, heads, residual: x, label: p + ".mixer.m.attn.proj")
                x = depthwise(block.dw1, x, residual: x, label: p + ".dw1")
                x = ffn(block.ffn1, x, p + ".ffn1.m")
            }
        }
        let channels = g.shape(x)[3]
        let features = g.add(.globalAveragePool, input: x, outputShape: [n, channels], label: "global_pool")
        let logits = g.add(.linear(weight: head.weight, bias: head.bias), input: features,
                           outputShape: [n, head.outChannels], label: "head")
        return g.finish(outputs: [logits, features])
    }
}
