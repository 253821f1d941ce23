import Foundation

/// Figures published for a model (the registry's), as opposed to measured.
public struct PublishedFigures: Codable, Sendable, Equatable {
    /// ImageNet-1k top-1 accuracy, percent; nil when none is published (such a model is listed
    /// but not plotted).
    public var top1: Double?
    public var paramsMillions: Double
    /// Multiply-accumulates per image at the model's input size, in billions.
    public var gmacs: Double
    public var source: String

    public init(top1: Double?, paramsMillions: Double, gmacs: Double, source: String) {
        self.top1 = top1
        self.paramsMillions = paramsMillions
        self.gmacs = gmacs
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case top1, paramsMillions = "params_millions", gmacs, source
    }
}

/// One model's row: counts from the engine's graph, measurements, published figures.
public struct ModelRow: Codable, Sendable, Equatable {
    public var model: String
    public var family: String
    /// The model's class in the taxonomy of Nauen et al. (e.g. `baseline (ViT)`); the plots
    /// colour points by it.
    public var taxonomy: String
    /// Input height × width, the model's registry input size.
    public var input: String
    public var published: PublishedFigures
    /// Every measurement of the batch-size search, in the order taken (the first is batch 1).
    public var measurements: [BenchResult]
    /// Why the batch-size search stopped where it did.
    public var searchStop: String
    /// When another registered model has the same architecture and input size (the same graph,
    /// e.g. DeiT-Ti and ViT-Ti with placeholder weights), its measurements are used for this one
    /// too, and this names it; `nil` when the model was measured itself. Measuring one graph
    /// twice would only add noise, and noise could put the less accurate twin on a front.
    public var measuredAs: String?

    public init(model: String, family: String, taxonomy: String, input: String, published: PublishedFigures,
                measurements: [BenchResult], searchStop: String, measuredAs: String? = nil) {
        precondition(!measurements.isEmpty, "a row needs at least the batch-1 measurement")
        self.model = model
        self.family = family
        self.taxonomy = taxonomy
        self.input = input
        self.published = published
        self.measurements = measurements
        self.searchStop = searchStop
        self.measuredAs = measuredAs
    }

    enum CodingKeys: String, CodingKey {
        case model, family, taxonomy, input, published, measurements, searchStop = "search_stop", measuredAs = "measured_as"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let measurements = try c.decode([BenchResult].self, forKey: .measurements)
        guard !measurements.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .measurements, in: c, debugDescription: "no measurement")
        }
        self.init(model: try c.decode(String.self, forKey: .model), family: try c.decode(String.self, forKey: .family),
                  taxonomy: try c.decode(String.self, forKey: .taxonomy),
                  input: try c.decode(String.self, forKey: .input),
                  published: try c.decode(PublishedFigures.self, forKey: .published),
                  measurements: measurements, searchStop: try c.decode(String.self, forKey: .searchStop),
                  measuredAs: try c.decodeIfPresent(String.self, forKey: .measuredAs))
    }

    /// The batch-1 measurement (latency, memory of one image at a time).
    public var batch1: BenchResult { measurements.first { $0.batch == 1 } ?? measurements[0] }
    /// The measurement at the batch size with the highest throughput.
    public var best: BenchResult { BatchSearch.best(of: measurements) ?? measurements[0] }
    /// Parameters, counted from the model's tensors.
    public var parameters: Int { batch1.parameters }
    /// Multiply-accumulates per image, in billions, counted from the engine's graph.
    public var gmacs: Double { batch1.gmacsPerImage }
}
