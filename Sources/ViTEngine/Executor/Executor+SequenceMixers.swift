/// Dispatch of the ``SequenceMixer`` nodes: work items are whole images (Fourier, token
/// merging and removal) or one head of one image (Linformer, linear, synthesized and proportional attention), so every output
/// element comes from the same arithmetic whatever the batch size or thread count.
extension Executor {
    func run(_ mixer: SequenceMixer, node: Node, scratch: UnsafeMutablePointer<Float>) {
        let b = buffers(of: node)
        let (inShape, outShape, x, out, inImage, outImage) = (b.inShape, b.outShape, b.x, b.out, b.inImage, b.outImage)
        let residual = b.residual, auxiliary = b.auxiliary
        let batch = b.batch, tokens = inShape[1]
        let scratchStride = node.scratchCount
        let outTokens = outShape[1]

        switch mixer {
        case let .linformer(tables):
            pool.run(items: batch * tables.heads) { item, thread in
                let (n, h) = item.quotientAndRemainder(dividingBy: tables.heads)
                LinformerKernel.run(tables, qkv: x + n * inImage, tokens: tokens, head: h,
                                    scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case let .fourier(tables):
            pool.run(items: batch) { n, thread in
                FourierKernel.run(tables, x: x + n * inImage, residual: residual.map { $0 + n * outImage },
                                  scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case let .linearAttention(heads, headDim, epsilon):
            pool.run(items: batch * heads) { item, thread in
                let (n, h) = item.quotientAndRemainder(dividingBy: heads)
                LinearAttentionKernel.run(qkv: x + n * inImage, tokens: tokens, heads: heads, headDim: headDim,
                                          head: h, epsilon: epsilon, scratch: scratch + thread * scratchStride,
                                          out: out + n * outImage)
            }
        case let .factorizedDense(tables):
            let values = auxiliary[0]
            pool.run(items: batch * tables.heads) { item, thread in
                let (n, h) = item.quotientAndRemainder(dividingBy: tables.heads)
                SynthesizerKernel.run(tables, x: x + n * inImage, values: values + n * inImage, tokens: tokens,
                                      head: h, scratch: scratch + thread * scratchStride, out: out + n * outImage)
            }
        case let .fixedAttention(tables):
            let c = tables.heads * tables.headDim, d = tables.headDim
            pool.run(items: batch * tables.heads) { item, _ in
                let (n, h) = item.quotientAndRemainder(dividingBy: tables.heads)
                tables.weights.withUnsafeBufferPointer { w in
                    BLAS.gemm(m: tokens, n: d, k: tokens, a: w.baseAddress! + h * tokens * tokens, lda: tokens,
                              b: x + n * inImage + h * d, ldb: c, c: out + n * outImage + h * d, ldc: c)
                }
            }
        case let .proportionalAttention(heads, headDim, scale):
            let sizes = auxiliary[0]
            pool.run(items: batch * heads) { item, thread in
                let (n, h) = item.quotientAndRemainder(dividingBy: heads)
                let logs = scratch + thread * scratchStride, scores = logs + tokens
                TokenMergingKernel.logSizes(sizes + n * tokens, tokens: tokens, out: logs)
                SelfAttentionKernel.run(qkv: x + n * inImage, tokens: tokens, heads: heads, headDim: headDim,
                                        scale: scale, head: h, keyBias: logs, scratch: scores,
                                        out: out + n * outImage)
            }
        case let .tokenMatch(match):
            pool.run(items: batch) { n, thread in
                TokenMergingKernel.match(match, qkv: x + n * inImage, tokens: tokens,
                                         scratch: scratch + thread * scratchStride, destinations: out + n * tokens)
            }
        case .tokenMerge:
            let channels = inShape[2]
            pool.run(items: batch) { n, thread in
                TokenMergingKernel.merge(x: x + n * inImage, tokens: tokens, channels: channels,
                                         destinations: auxiliary[0] + n * tokens,
                                         sizes: auxiliary.count > 1 ? auxiliary[1] + n * tokens : nil,
                                         merged: outTokens, scratch: scratch + thread * scratchStride,
                                         out: out + n * outImage)
            }
        case .tokenSizes:
            pool.run(items: batch) { n, _ in
                TokenMergingKernel.sizes(destinations: x + n * tokens, tokens: tokens,
                                         sizes: auxiliary.first.map { $0 + n * tokens }, merged: outTokens,
                                         out: out + n * outTokens)
            }
        case let .classAttentionScores(heads, headDim, scale):
            pool.run(items: batch) { n, thread in
                TokenRemovalKernel.classAttention(qkv: x + n * inImage, tokens: tokens, heads: heads, headDim: headDim,
                                                  scale: scale, scratch: scratch + thread * scratchStride,
                                                  out: out + n * (tokens - 1))
            }
        case let .attentiveTokens(kept, fusesRest):
            let channels = inShape[2]
            pool.run(items: batch) { n, thread in
                TokenRemovalKernel.select(x: x + n * inImage, tokens: tokens, channels: channels,
                                          scores: auxiliary[0] + n * (tokens - 1), kept: kept, fusesRest: fusesRest,
                                          ranks: scratch + thread * scratchStride, out: out + n * outImage)
            }
        }
    }
}
