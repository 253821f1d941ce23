import Foundation

/// A one-line download progress bar on standard error, redrawn at most ten times a second.
/// Only made when standard error is a terminal, so logs and pipes get no control characters.
///
/// `@unchecked Sendable`: the download reports progress from its transfer thread while the main
/// thread may call `finish`; the mutable fields are only touched with `lock` held.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    private init(label: String) { self.label = label }

    /// A bar if standard error is a terminal, else `nil`.
    static func forStandardError(label: String) -> ProgressBar? {
        isatty(STDERR_FILENO) == 1 ? ProgressBar(label: label) : nil
    }

    func update(received: Int64, total: Int64?) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || received == total else { return }
        lastDraw = now
        drawn = true
        let mb = { (bytes: Int64) in String(format: "%.1f", Double(bytes) / 1_048_576) }
        var line = "\r\(label): \(mb(received)) MiB"
        if let total, total > 0 {
            let fraction = min(1, Double(received) / Double(total))
            let filled = Int(fraction * 30)
            line = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
                + "] \(Int(fraction * 100))% \(mb(received))/\(mb(total)) MiB"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Ends the bar's line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
