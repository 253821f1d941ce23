import ViTEngine

/// One request's share of a batch's outputs.
struct RowOutput: Sendable, Equatable {
    /// The request's class scores before softmax.
    var logits: [Float]
    /// The request's pooled pre-logits features.
    var features: [Float]
}

/// The sessions of one worker thread, kept between batches: an ``InferenceSession`` owns its
/// arena and thread pool and must be used by one thread at a time, so each worker has its own.
///
/// A batch of n requests runs as chunks whose sizes are the powers of two in n (7 = 4 + 2 + 1),
/// so a worker needs at most log₂(maxBatchSize) + 1 sessions per input shape instead of one per
/// batch size. The engine's results do not depend on how images are grouped, so every request
/// gets exactly the output it would get alone; no compute is spent on padding.
struct SessionPool {
    private struct Key: Hashable {
        var batch: Int
        var height: Int
        var width: Int
    }

    /// A session and the input tensor it is fed from, reused so a batch copies into memory that
    /// already exists.
    private final class Entry {
        let session: InferenceSession
        var input: Tensor
        var lastUse: UInt64

        init(session: InferenceSession, lastUse: UInt64) {
            self.session = session
            input = Tensor(zeros: session.inputShape)
            self.lastUse = lastUse
        }
    }

    private let model: Model
    private let threads: Int
    /// Sessions kept; the least recently used is dropped beyond this (inputs of many shapes).
    private let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0

    init(model: Model, threads: Int, capacity: Int) {
        self.model = model
        self.threads = threads
        self.capacity = max(1, capacity)
    }

    /// The sizes a batch of `count` runs as, largest first.
    static func chunkSizes(_ count: Int) -> [Int] {
        var sizes: [Int] = []
        var bit = 1
        while bit <= count { bit <<= 1 }
        while bit > 1 {
            bit >>= 1
            if count & bit != 0 { sizes.append(bit) }
        }
        return sizes
    }

    /// Runs the inputs (each `3 × height × width` values) and returns one output per input, in order.
    mutating func run(_ inputs: [[Float]], height: Int, width: Int) throws(EngineError) -> [RowOutput] {
        var outputs: [RowOutput] = []
        outputs.reserveCapacity(inputs.count)
        var next = 0
        for size in Self.chunkSizes(inputs.count) {
            let entry = try session(Key(batch: size, height: height, width: width))
            let imageSize = 3 * height * width
            entry.input.values.withUnsafeMutableBufferPointer { buffer in
                for (slot, input) in inputs[next..<(next + size)].enumerated() {
                    precondition(input.count == imageSize, "queued input of \(input.count) values for a \(imageSize)-value image")
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[(slot * imageSize)...]).update(fromContentsOf: input)
                }
            }
            let prediction = try entry.session.run(entry.input)
            let classes = prediction.logits.shape[1], channels = prediction.features.shape[1]
            for row in 0..<size {
                outputs.append(RowOutput(logits: Array(prediction.logits.values[(row * classes)..<((row + 1) * classes)]),
                                         features: Array(prediction.features.values[(row * channels)..<((row + 1) * channels)])))
            }
            next += size
        }
        return outputs
    }

    private mutating func session(_ key: Key) throws(EngineError) -> Entry {
        clock += 1
        if let entry = entries[key] {
            entry.lastUse = clock
            return entry
        }
        if entries.count >= capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            entries[oldest] = nil
        }
        let entry = Entry(session: try model.makeSession(batch: key.batch, height: key.height, width: key.width,
                                                         threads: threads),
                          lastUse: clock)
        entries[key] = entry
        return entry
    }
}
