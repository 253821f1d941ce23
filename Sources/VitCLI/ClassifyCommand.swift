import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import ViTEngine
import ViTHub
import ViTImages

/// `vit classify`: photos in, ImageNet classes out, preprocessed exactly as timm evaluates.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify JPEG and PNG images (files or directories) with an ImageNet-1k model.",
        discussion: """
            Images are decoded as PIL does and preprocessed as timm's eval transform (resize the \
            shorter side with PIL's bicubic filter, center crop, normalize), in batches. Files in \
            directories are found recursively by image extension; named files are always tried.

            Exit status: 0 when every image was classified; 2 when some could not be (each is \
            reported on standard error, the others are classified); 1 on any other error.
            """
    )

    @Argument(help: "Image files and directories (searched recursively).")
    var images: [String]

    @Option(name: .shortAndLong, help: "Model name or alias (see `vit models`).")
    var model: String = "m0"

    @Option(name: .shortAndLong, help: "Weights: .safetensors (Cream or timm layout) or .pth (default: weights already in the cache from `vit fetch`; nothing is downloaded).")
    var weights: String?

    @Option(name: .long, help: "How many classes to show per image.")
    var top: Int = 5

    @Option(name: .long, help: "Images decoded and run together.")
    var batch: Int = 8

    @Option(name: .long, help: "Workers, each decoding and running its own batches (the engine shares the cores among them).")
    var threads: Int = 1

    @Flag(name: .long, help: "One JSON object per line per image: path, indices, labels, probabilities (or error).")
    var json = false

    @Option(name: .long, help: "Refuse images with more pixels than this (decompression-bomb guard).")
    var maxPixels: Int = ImageDecoder.defaultMaximumPixels

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be between 1 and 4096") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1") }
    }

    func run() throws {
        let info: ModelInfo
        let net: Model
        let preprocessor: ImagePreprocessor
        do {
            info = try ModelRegistry.model(named: model)
            guard let weights = weights ?? Self.cachedWeights(info), FileManager.default.fileExists(atPath: weights) else {
                FileHandle.standardError.write(Data(missingWeightsMessage(info, weights).utf8))
                throw ExitCode(1)
            }
            net = try Model.load(info.name, weights: weights)
            preprocessor = try ImagePreprocessor(model: info)
        } catch let error as EngineError {
            fail(error)
        } catch let error as ImageError {
            failImages(error)
        }

        let inputs = ImageInputs(arguments: images)
        guard !inputs.files.isEmpty || !inputs.listingErrors.isEmpty else {
            let skipped = inputs.skipped > 0 ? " (\(inputs.skipped) file(s) without an image extension skipped)" : ""
            failImages(message: "no image files found in \(images.map { "'\($0)'" }.joined(separator: ", "))\(skipped)")
        }
        let batches = stride(from: 0, to: inputs.files.count, by: batch).map {
            Array(inputs.files[$0..<min($0 + batch, inputs.files.count)])
        }
        let report = ClassifyReport(batchCount: batches.count, paths: inputs.files, format: json ? .json : .table)
        for (path, reason) in inputs.listingErrors {
            report.reportFailure(path: path, message: "cannot list '\(path)': \(reason)")
        }

        // Each worker decodes and runs its own batches; the engine spreads each run over the
        // cores left to that worker, so workers × engine threads = cores.
        let workers = min(threads, max(batches.count, 1))
        let job = ClassifyJob(model: net, preprocessor: preprocessor,
                              decoder: ImageDecoder(maximumPixels: maxPixels), top: top,
                              sessionThreads: max(1, ProcessInfo.processInfo.activeProcessorCount / workers))
        let fatal = Mutex<EngineError?>(nil)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var sessions: [Int: InferenceSession] = [:]
            // After an engine failure (which would hit every batch) no further batch is started.
            while fatal.withLock({ $0 == nil }), let index = report.nextBatch() {
                do throws(EngineError) {
                    report.finish(batch: index, try job.classify(batches[index], sessions: &sessions))
                } catch {
                    fatal.withLock { $0 = $0 ?? error }
                    report.finish(batch: index, batches[index].map {
                        ImageOutcome(path: $0, result: .failure(ClassifyFailure(message: "'\($0)': \(error.description)")))
                    })
                }
            }
        }
        report.close()
        if let error = fatal.withLock({ $0 }) { fail(error) }

        let (classified, failed) = report.counts
        if inputs.skipped > 0 {
            FileHandle.standardError.write(Data("note: skipped \(inputs.skipped) file(s) without an image extension in directories\n".utf8))
        }
        if failed > 0 {
            FileHandle.standardError.write(Data("\(failed) of \(classified + failed) image(s) could not be classified\n".utf8))
            throw ExitCode(2)
        }
    }

    /// Weights `vit fetch` put in the cache (official first, then timm's), if any; never downloads.
    private static func cachedWeights(_ info: ModelInfo) -> String? {
        let cache = WeightCache()
        return WeightSource.allCases.map { cache.path(for: info, source: $0) }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// How to get weights, with the registry's URLs for this model.
    private func missingWeightsMessage(_ info: ModelInfo, _ path: String?) -> String {
        let alias = info.aliases.first ?? info.name
        var lines = [path.map { "error: weights file '\($0)' does not exist" }
                     ?? "error: no weights for \(info.name): no --weights FILE, and none in the cache '\(WeightCache().directory)'"]
        lines.append("Pretrained weights for \(info.name) are published at:")
        if let official = info.weights.official { lines.append("  official (PyTorch .pth):  \(official)") }
        if let timm = info.weights.timm { lines.append("  timm (safetensors):       \(timm)") }
        if let official = info.weights.official {
            let file = URL(fileURLWithPath: official).lastPathComponent
            lines += [
                "Download and verify them into the weights cache (prints the file's path):",
                "  vit fetch --model \(alias)",
                "or download one yourself and pass it with --weights; vit reads both formats:",
                "  curl -L -o \(file) \(official)",
                "  vit classify --model \(alias) --weights \(file) IMAGE...",
                "or convert the .pth once to safetensors (pip install torch safetensors numpy):",
                "  python3 scripts/convert_checkpoint.py \(file) Models/weights/\(info.name).safetensors",
                "  vit classify --model \(alias) --weights Models/weights/\(info.name).safetensors IMAGE...",
                "(any weights file can be checked with: vit run --model \(alias) --weights FILE --input batch.npy --output logits.npy)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Decodes, preprocesses and runs one batch; shared by the worker threads (it holds only
/// immutable, Sendable parts; each worker owns its sessions).
struct ClassifyJob: Sendable {
    let model: Model
    let preprocessor: ImagePreprocessor
    let decoder: ImageDecoder
    let top: Int
    /// Engine threads per session: the cores shared out among the workers.
    let sessionThreads: Int

    /// Outcomes for `paths` in order. Images that fail to decode are reported and left out of the
    /// model run; an engine failure (which would affect every image) is thrown.
    func classify(_ paths: [String], sessions: inout [Int: InferenceSession]) throws(EngineError) -> [ImageOutcome] {
        var outcomes: [ImageOutcome] = []
        var decoded: [(slot: Int, image: RGBImage)] = []
        for (slot, path) in paths.enumerated() {
            do {
                decoded.append((slot, try decoder.decode(path: path)))
                outcomes.append(ImageOutcome(path: path, result: .failure(ClassifyFailure(message: "not run"))))
            } catch {
                outcomes.append(ImageOutcome(path: path, result: .failure(ClassifyFailure(message: error.description))))
            }
        }
        guard !decoded.isEmpty else { return outcomes }
        let count = decoded.count
        if sessions[count] == nil {
            sessions[count] = try model.makeSession(batch: count, height: preprocessor.cropHeight,
                                                    width: preprocessor.cropWidth, threads: sessionThreads)
        }
        let logits = try sessions[count]!.run(preprocessor.tensor(for: decoded.map(\.image))).logits
        let classes = logits.shape[1]
        let rows = TopClasses.rows(of: logits.values, classes: classes, k: min(top, classes), labels: ImageNetLabels.names)
        for (row, entry) in decoded.enumerated() {
            outcomes[entry.slot].result = .success(rows[row])
        }
        return outcomes
    }
}

/// Prints an image error the way a user should see it and exits non-zero.
func failImages(_ error: ImageError) -> Never {
    failImages(message: error.description)
}

/// Prints a message as an error and exits non-zero.
func failImages(message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(1)
}
