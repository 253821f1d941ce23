/// What every architecture file provides to the engine: folded parameters and a graph for any
/// input shape. Adding a model family means adding one file that conforms.
protocol Architecture: Sendable {
    var parameters: ParameterStore { get }
    /// The graph for `[batch, channels, height, width]` input; outputs are `[logits, features]`.
    func graph(batch: Int, height: Int, width: Int) -> Graph
    /// What an input of this size violates (e.g. smaller than one patch), or nil if it runs.
    func inputProblem(height: Int, width: Int) -> String?
}

extension Architecture {
    func inputProblem(height: Int, width: Int) -> String? { nil }

    /// The input problem of a model that runs at one square size only, `reason` saying why.
    func onlySize(_ side: Int, height: Int, width: Int, because reason: String) -> String? {
        height == side && width == side ? nil : "\(side)×\(side) only: \(reason)"
    }
}
