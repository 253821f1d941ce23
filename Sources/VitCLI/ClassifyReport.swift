import Foundation
import Synchronization
import ViTImages

/// What happened to one image.
struct ImageOutcome: Sendable {
    var path: String
    var result: Result<TopClasses, ClassifyFailure>
}

/// Why one image was not classified (its message names the file).
struct ClassifyFailure: Error, Sendable {
    var message: String
}

/// Prints results in input order as batches finish (possibly out of order, on several threads),
/// as a table or JSON lines on standard output, errors on standard error, and a progress bar on
/// standard error when it is a terminal.
final class ClassifyReport: Sendable {
    enum Format: Sendable { case table, json }

    private struct State {
        var nextBatchToHandOut = 0
        var finished: [Int: [ImageOutcome]] = [:]
        var nextBatchToPrint = 0
        var classified = 0
        var failed = 0
        var headerPrinted = false
        var progressShown = false
    }

    private let state = Mutex(State())
    private let batchCount: Int
    private let imageCount: Int
    private let format: Format
    private let pathWidth: Int
    /// Draw a progress bar: standard error is a terminal and there are enough images to wait for.
    private let showsProgress: Bool

    /// Images from which a progress bar is worth drawing.
    static let progressThreshold = 16

    init(batchCount: Int, paths: [String], format: Format) {
        self.batchCount = batchCount
        imageCount = paths.count
        self.format = format
        pathWidth = min(max(paths.map(\.count).max() ?? 0, 5), 60)
        showsProgress = isatty(STDERR_FILENO) == 1 && paths.count >= Self.progressThreshold
    }

    /// The next batch a worker should process, or nil when all are handed out.
    func nextBatch() -> Int? {
        state.withLock { state in
            guard state.nextBatchToHandOut < batchCount else { return nil }
            defer { state.nextBatchToHandOut += 1 }
            return state.nextBatchToHandOut
        }
    }

    /// Records a finished batch and prints every batch that is now next in order.
    func finish(batch: Int, _ outcomes: [ImageOutcome]) {
        state.withLock { state in
            state.finished[batch] = outcomes
            while let ready = state.finished.removeValue(forKey: state.nextBatchToPrint) {
                clearProgress(&state)
                for outcome in ready { emit(outcome, &state) }
                state.nextBatchToPrint += 1
            }
            drawProgress(&state)
        }
    }

    /// A failure outside any batch (e.g. a directory that could not be listed).
    func reportFailure(path: String, message: String) {
        state.withLock { state in
            clearProgress(&state)
            emit(ImageOutcome(path: path, result: .failure(ClassifyFailure(message: message))), &state)
        }
    }

    /// Counts of classified and failed images so far.
    var counts: (classified: Int, failed: Int) {
        state.withLock { ($0.classified, $0.failed) }
    }

    /// Ends the progress bar's line.
    func close() {
        state.withLock { clearProgress(&$0) }
    }

    private func emit(_ outcome: ImageOutcome, _ state: inout State) {
        switch outcome.result {
        case .success(let top):
            state.classified += 1
            switch format {
            case .json: write(Self.json(path: outcome.path, top: top), to: .standardOutput)
            case .table:
                if !state.headerPrinted {
                    state.headerPrinted = true
                    write(pad("image", pathWidth) + "  rank  probability  class  label\n", to: .standardOutput)
                }
                var lines = ""
                for rank in top.indices.indices {
                    lines += pad(outcome.path, pathWidth) + "  " + leftPad("\(rank + 1)", 4) + "  "
                        + leftPad(String(format: "%.4f", top.probabilities[rank]), 11) + "  "
                        + leftPad("\(top.indices[rank])", 5) + "  " + top.labels[rank] + "\n"
                }
                write(lines, to: .standardOutput)
            }
        case .failure(let failure):
            state.failed += 1
            write("error: \(failure.message)\n", to: .standardError)
            if format == .json {
                write(Self.json(path: outcome.path, error: failure.message), to: .standardOutput)
            }
        }
    }

    private func drawProgress(_ state: inout State) {
        guard showsProgress else { return }
        let done = state.classified + state.failed
        let width = 30
        let filled = imageCount > 0 ? width * done / imageCount : width
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        write("\r[\(bar)] \(done)/\(imageCount) images", to: .standardError)
        state.progressShown = true
    }

    private func clearProgress(_ state: inout State) {
        guard state.progressShown else { return }
        // Carriage return + erase line, so results print on a clean line.
        write("\r\u{1B}[K", to: .standardError)
        state.progressShown = false
    }

    private static func json(path: String, top: TopClasses) -> String {
        encode(JSONLine(path: path, indices: top.indices, labels: top.labels, probabilities: top.probabilities, error: nil))
    }

    private static func json(path: String, error: String) -> String {
        encode(JSONLine(path: path, indices: nil, labels: nil, probabilities: nil, error: error))
    }

    /// One line of `--json` output.
    private struct JSONLine: Encodable {
        var path: String
        var indices: [Int]?
        var labels: [String]?
        var probabilities: [Double]?
        var error: String?
    }

    private static func encode(_ line: JSONLine) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, integers and finite doubles cannot fail.
        let data = (try? encoder.encode(line)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    private func write(_ text: String, to handle: FileHandle) {
        handle.write(Data(text.utf8))
    }
}
