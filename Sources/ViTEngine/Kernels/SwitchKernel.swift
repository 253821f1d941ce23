/// The Switch Transformer's routed MLP of one image (``SwitchExperts``): route every token, then
/// run each expert as one packed GEMM pair over the rows of the tokens sent to it, gathered into
/// scratch, and scatter the results (plus the residual) back to the tokens' rows. Each token's
/// result depends only on its own row, so batching and threading never change it.
enum SwitchKernel {
    /// Floats of scratch one call needs: router logits and routes, gathered rows, hidden rows,
    /// gathered residual rows.
    static func scratchCount(tokens t: Int, channels c: Int, hidden: Int, experts: Int) -> Int {
        t * experts + t + t * c + t * hidden + t * c
    }

    static func run(_ e: SwitchExperts, parameters p: ParameterStore, x: UnsafePointer<Float>, tokens t: Int,
                    channels c: Int, residual: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Float>,
                    out: UnsafeMutablePointer<Float>) {
        let count = e.experts.count
        let logits = scratch, routes = logits + t * count
        let rows = routes + t, hidden = rows + t * c, saved = hidden + t * e.hidden
        // logits = x·Wᵀ + b; the route is the first largest logit (softmax keeps the order, and
        // torch.max returns the first of equal maxima).
        let bias = p[e.routerBias]
        for n in 0..<t { (logits + n * count).update(from: bias, count: count) }
        BLAS.gemm(transposeB: true, m: t, n: count, k: c, a: x, lda: c, b: p[e.routerWeight], ldb: c, beta: 1,
                  c: logits, ldc: count)
        for n in 0..<t {
            var best = 0
            for j in 1..<count where logits[n * count + j] > logits[n * count + best] { best = j }
            routes[n] = Float(best)
        }
        for (index, expert) in e.experts.enumerated() {
            var members = 0
            for n in 0..<t where routes[n] == Float(index) {
                (rows + members * c).update(from: x + n * c, count: c)
                // The residual may be the output's own memory: read it before any row is written.
                if let r = residual { (saved + members * c).update(from: r + n * c, count: c) }
                members += 1
            }
            guard members > 0 else { continue }
            ConvolutionKernels.pointwise(x: rows, rows: members, cin: c, weight: p[expert.fc1.weight],
                                         bias: p[expert.fc1.bias], cout: e.hidden, activation: .gelu,
                                         residual: nil, out: hidden)
            ConvolutionKernels.pointwise(x: hidden, rows: members, cin: e.hidden, weight: p[expert.fc2.weight],
                                         bias: p[expert.fc2.bias], cout: c, activation: .identity,
                                         residual: residual == nil ? nil : UnsafePointer(saved), out: rows)
            members = 0
            for n in 0..<t where routes[n] == Float(index) {
                (out + n * c).update(from: rows + members * c, count: c)
                members += 1
            }
        }
    }
}
