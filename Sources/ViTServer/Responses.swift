import ViTEngine
import ViTImages
import ViTServing

/// `POST /v1/classify`: the most probable classes, best first.
struct ClassifyResponse: Encodable {
    struct Class: Encodable {
        var index: Int
        var label: String
        var probability: Double
    }

    var model: String
    var classes: [Class]

    init(model: String, top: TopClasses) {
        self.model = model
        classes = top.indices.indices.map {
            Class(index: top.indices[$0], label: top.labels[$0], probability: top.probabilities[$0])
        }
    }
}

/// `POST /v1/embed`: the pooled pre-logits features.
struct EmbedResponse: Encodable {
    var model: String
    var dimensions: Int
    var embedding: [Float]
}

/// `GET /v1/models`: what is served and how it is batched.
struct ModelsResponse: Encodable {
    struct Entry: Encodable {
        var name: String
        var aliases: [String]
        var inputSize: [Int]
        var classes: Int
        var embeddingDimensions: Int
        var parameters: Int
        var publishedTop1: Double?
        var maxBatchSize: Int
        var maxWaitMilliseconds: Double
        var maxQueueDepth: Int
        var requestTimeoutSeconds: Double?
        var queueDepth: Int

        enum CodingKeys: String, CodingKey {
            case name, aliases, inputSize = "input_size", classes, embeddingDimensions = "embedding_dimensions"
            case parameters, publishedTop1 = "published_top1", maxBatchSize = "max_batch_size"
            case maxWaitMilliseconds = "max_wait_ms", maxQueueDepth = "max_queue_depth"
            case requestTimeoutSeconds = "request_timeout_s", queueDepth = "queue_depth"
        }

        init(_ service: InferenceService) {
            let info = service.model.info, configuration = service.configuration
            name = info.name
            aliases = info.aliases
            inputSize = [3, service.preprocessor.cropHeight, service.preprocessor.cropWidth]
            classes = service.classes
            embeddingDimensions = service.embeddingDimensions
            parameters = service.model.parameterCount
            publishedTop1 = info.published.top1
            maxBatchSize = configuration.maxBatchSize
            maxWaitMilliseconds = configuration.maxWait / .milliseconds(1)
            maxQueueDepth = configuration.maxQueueDepth
            requestTimeoutSeconds = configuration.requestTimeout.map { $0 / .seconds(1) }
            queueDepth = service.queueDepth
        }
    }

    var defaultModel: String
    var models: [Entry]
    /// The instruction-set tier the engine's kernels run on (`avx512`, `avx2`, `portable`).
    var kernelISA = KernelISA.current.rawValue

    enum CodingKeys: String, CodingKey {
        case defaultModel = "default", models, kernelISA = "kernel_isa"
    }
}

/// `GET /healthz`.
struct HealthResponse: Encodable {
    var status: String
    var models: [String]
}
