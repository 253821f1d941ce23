import Metrics
import Foundation
import ServiceLifecycle
import ViTEngine
import ViTImages

/// One model, loaded once and shared by every task of a server: classification and embeddings
/// from encoded images, decoded RGB images or ready tensors, with concurrent requests gathered
/// into batches (see ``ServingConfiguration``).
///
/// ```swift
/// let model = try Model.load("m0", weights: "efficientvit_m0.pth")
/// let service = try InferenceService(model: model)
/// let top5 = try await service.classify(imageBytes)      // from any task, concurrently
/// ```
///
/// The service is `Sendable`: call it from as many tasks as you like. Requests are queued and
/// run by worker threads (``ServingConfiguration/workers``), each reusing its own planned
/// sessions, so a request allocates no engine memory; a request's result is bit-identical to
/// running it alone, whatever batch it joins. Decoding and preprocessing run on a dispatch queue,
/// inference on the workers, so neither blocks Swift's cooperative thread pool.
///
/// As a swift-service-lifecycle `Service` (e.g. in a Hummingbird application's `services`), it
/// drains on graceful shutdown: queued and running requests finish, new ones are refused with
/// ``ServingError/shuttingDown``. Without a service group, call ``shutdown()``; a service that is
/// released without one stops its workers once its queue is empty.
public final class InferenceService: Sendable {
    /// The loaded model.
    public let model: Model
    /// The model's image preprocessing (timm's eval transform).
    public let preprocessor: ImagePreprocessor
    /// The batching and limits in use.
    public let configuration: ServingConfiguration
    /// Classes the model scores (ImageNet-1k: 1000).
    public let classes: Int
    /// Length of an embedding (the model's pooled pre-logits features).
    public let embeddingDimensions: Int

    private let decoder: ImageDecoder
    private let batcher: Batcher
    /// Where images are decoded and preprocessed: off the cooperative pool, several at a time.
    private let preprocessing = DispatchQueue(label: "vit.serving.preprocess", attributes: .concurrent)
    /// Gives a burst's freed memory back to the system once requests stop.
    private let memoryReturn = IdleMemoryReturn()

    /// Starts serving `model` (its worker threads start now).
    ///
    /// - Throws: ``ServingError/invalidInput(field:reason:)`` for a configuration that cannot work,
    ///   ``ServingError/invalidImage(_:)`` when the model's preprocessing is not supported,
    ///   ``ServingError/engine(_:)`` when the model cannot be planned for its input size.
    public init(model: Model, configuration: ServingConfiguration = ServingConfiguration()) throws(ServingError) {
        try configuration.validate()
        self.model = model
        self.configuration = configuration
        do {
            preprocessor = try ImagePreprocessor(model: model.info)
        } catch {
            throw .invalidImage(error)
        }
        decoder = ImageDecoder(maximumPixels: configuration.maximumPixels)
        // One small run up front: checks that the model plans at its input size and learns the
        // output sizes (a failure here is better than on every request).
        do throws(EngineError) {
            let shape = [1, 3, preprocessor.cropHeight, preprocessor.cropWidth]
            let prediction = try model.makeSession(batch: 1, height: shape[2], width: shape[3], threads: 1)
                .run(Tensor(zeros: shape))
            classes = prediction.logits.shape[1]
            embeddingDimensions = prediction.features.shape[1]
        } catch {
            throw .engine(error)
        }
        let metrics = ServingMetrics(model: model.info.name, factory: configuration.metricsFactory ?? MetricsSystem.factory)
        batcher = Batcher(model: model, configuration: configuration, metrics: metrics)
        batcher.start()
    }

    deinit {
        batcher.stopAccepting()
    }

    /// Requests waiting for a worker (not counting those running).
    public var queueDepth: Int { batcher.queueDepth }

    /// False once shutdown has begun (new requests are refused).
    var isAccepting: Bool { batcher.isAccepting }

    // MARK: - Classification

    /// The `top` most probable ImageNet classes of an encoded JPEG or PNG image.
    /// `name` identifies the image in error messages (a file name, "request body").
    public func classify(_ imageData: Data, top: Int = 5, name: String = "image") async throws(ServingError) -> TopClasses {
        try await classify(.encoded(imageData, name: name), top: top)
    }

    /// The `top` most probable ImageNet classes of a decoded image (any size; it is resized and
    /// cropped as the model expects).
    public func classify(_ image: RGBImage, top: Int = 5) async throws(ServingError) -> TopClasses {
        try await classify(.decoded(image), top: top)
    }

    /// The `top` most probable ImageNet classes of a preprocessed `[1, 3, H, W]` tensor.
    public func classify(_ tensor: Tensor, top: Int = 5) async throws(ServingError) -> TopClasses {
        try await classify(.tensor(tensor), top: top)
    }

    /// The `top` most probable ImageNet classes of any ``ServingInput``.
    public func classify(_ input: ServingInput, top: Int = 5) async throws(ServingError) -> TopClasses {
        guard (1...classes).contains(top) else {
            throw .invalidInput(field: "top", reason: "\(top) is not in 1…\(classes)")
        }
        let output = try await run(input)
        return TopClasses(logits: output.logits, k: top, labels: ImageNetLabels.names)
    }

    // MARK: - Embeddings

    /// The pooled pre-logits features of an encoded JPEG or PNG image (``embeddingDimensions`` values).
    public func embed(_ imageData: Data, name: String = "image") async throws(ServingError) -> [Float] {
        try await embed(.encoded(imageData, name: name))
    }

    /// The pooled pre-logits features of a decoded image.
    public func embed(_ image: RGBImage) async throws(ServingError) -> [Float] {
        try await embed(.decoded(image))
    }

    /// The pooled pre-logits features of a preprocessed `[1, 3, H, W]` tensor.
    public func embed(_ tensor: Tensor) async throws(ServingError) -> [Float] {
        try await embed(.tensor(tensor))
    }

    /// The pooled pre-logits features of any ``ServingInput``.
    public func embed(_ input: ServingInput) async throws(ServingError) -> [Float] {
        try await run(input).features
    }

    // MARK: - Lifecycle

    /// Stops taking requests (they fail with ``ServingError/shuttingDown``), finishes the queued
    /// and running ones, and returns when the workers have exited. Safe to call more than once.
    public func shutdown() async {
        await batcher.shutdown()
    }

    // MARK: - Running one input

    /// The model input for one request, then its row of the batch it ran in.
    private func run(_ input: ServingInput) async throws(ServingError) -> RowOutput {
        defer { memoryReturn.noteActivity() }
        let started = ContinuousClock.now  // the timeout covers decoding and the queue together
        let (values, height, width) = try await modelInput(input, started: started)
        return try await batcher.submit(values, height: height, width: width, started: started)
    }

    /// `3 × H × W` normalized values for the model, decoded and preprocessed on `preprocessing`.
    private func modelInput(_ input: ServingInput,
                            started: ContinuousClock.Instant) async throws(ServingError) -> (values: [Float], height: Int, width: Int) {
        let size = (height: preprocessor.cropHeight, width: preprocessor.cropWidth)
        switch input {
        case let .tensor(tensor):
            let shape = tensor.shape
            guard shape.count == 4, shape[0] == 1, shape[1] == 3,
                  (1...Model.maximumSide).contains(shape[2]), (1...Model.maximumSide).contains(shape[3]) else {
                throw .invalidInput(field: "tensor", reason: "shape \(shape); expected [1, 3, H, W] with "
                                    + "1 ≤ H, W ≤ \(Model.maximumSide) (this model was trained at \(size.height)×\(size.width))")
            }
            return (tensor.values, shape[2], shape[3])
        case let .decoded(image):
            guard image.width > 0, image.height > 0 else {
                throw .invalidInput(field: "image", reason: "it is \(image.width)×\(image.height) pixels; expected at least 1×1")
            }
            return (await preprocess { $0.values(for: image) }, size.height, size.width)
        case let .encoded(data, name):
            let decoder = decoder
            // The header says how many pixels the decode will hold; those are taken from the
            // shared budget first. An image above the per-image limit skips the budget: decode
            // refuses it from the header at once, so it must not wait for everyone in flight.
            let pixels: Int
            do {
                let dimensions = try decoder.dimensions(data: data, path: name)
                pixels = dimensions.width * dimensions.height
            } catch {
                throw .invalidImage(error)
            }
            let budget = configuration.decodeBudget
            let held = pixels <= configuration.maximumPixels ? pixels : 0
            if held > 0 {
                guard await budget.acquire(held, deadline: configuration.requestTimeout.map { started + $0 }) else {
                    if Task.isCancelled { throw .cancelled }
                    throw .timedOut(after: configuration.requestTimeout ?? .zero)
                }
            }
            let decoded: Result<[Float], ImageError> = await preprocess { preprocessor in
                Result { () throws(ImageError) in preprocessor.values(for: try decoder.decode(data: data, path: name)) }
            }
            if held > 0 { budget.release(held) }
            return (try decoded.mapError(ServingError.invalidImage).get(), size.height, size.width)
        }
    }

    /// Runs `work` with the preprocessor on the preprocessing queue.
    private func preprocess<T: Sendable>(_ work: @escaping @Sendable (ImagePreprocessor) -> T) async -> T {
        let preprocessor = preprocessor
        return await withCheckedContinuation { continuation in
            preprocessing.async { continuation.resume(returning: work(preprocessor)) }
        }
    }
}

/// What a request to an ``InferenceService`` can carry.
public enum ServingInput: Sendable {
    /// An encoded JPEG or PNG image; `name` identifies it in error messages.
    case encoded(Data, name: String)
    /// A decoded 8-bit RGB image, resized and cropped as the model expects.
    case decoded(RGBImage)
    /// A preprocessed `[1, 3, H, W]` float32 tensor, run as it is.
    case tensor(Tensor)
}

extension InferenceService: Service {
    /// Runs until the service group shuts down gracefully, then drains (see ``shutdown()``).
    public func run() async throws {
        // Returns at graceful shutdown; throws only if the task is cancelled, and then the
        // requests must be finished all the same.
        try? await gracefulShutdown()
        await shutdown()
    }
}
