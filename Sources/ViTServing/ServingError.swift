import ViTEngine
import ViTImages

/// Every failure of an ``InferenceService`` request. Each case says what went wrong and what the
/// caller can do; an HTTP front-end maps them to status codes (see ``isRetryable``).
public enum ServingError: Error, Equatable, Sendable {
    /// The queue already holds ``ServingConfiguration/maxQueueDepth`` requests; the request was
    /// refused at once, without waiting. `retryAfter` estimates when the queue will have drained.
    case overloaded(queueDepth: Int, retryAfter: Duration)
    /// No result within ``ServingConfiguration/requestTimeout`` (queued or running).
    case timedOut(after: Duration)
    /// The service is shutting down: it finishes accepted requests but takes no new ones.
    case shuttingDown
    /// The calling task was cancelled before its result arrived.
    case cancelled
    /// The image bytes could not be decoded (not a JPEG/PNG, corrupt, truncated, too many pixels…).
    case invalidImage(ImageError)
    /// The input or a parameter does not fit the model: `field` names it, `reason` says what was expected.
    case invalidInput(field: String, reason: String)
    /// The engine failed while running the batch (every request of that batch gets the error).
    case engine(EngineError)

    /// True when the same request may succeed later (overload, timeout, shutdown of this instance).
    public var isRetryable: Bool {
        switch self {
        case .overloaded, .timedOut, .shuttingDown: true
        case .cancelled, .invalidImage, .invalidInput, .engine: false
        }
    }
}

extension ServingError: CustomStringConvertible {
    /// The message a caller sees.
    public var description: String {
        switch self {
        case let .overloaded(queueDepth, retryAfter):
            return "the server is overloaded: \(queueDepth) requests are already queued (the limit); "
                + "retry in about \(Self.seconds(retryAfter)) s"
        case let .timedOut(after):
            return "no result within the request timeout of \(Self.seconds(after)) s"
        case .shuttingDown:
            return "the service is shutting down and accepts no new requests"
        case .cancelled:
            return "the request was cancelled"
        case let .invalidImage(error):
            return error.description
        case let .invalidInput(field, reason):
            return "invalid \(field): \(reason)"
        case let .engine(error):
            return "inference failed: \(error.description)"
        }
    }

    /// Whole seconds, rounded up (what an HTTP `Retry-After` carries).
    public static func seconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }
}
