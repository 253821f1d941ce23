import CDownload
import ViTEngine

/// When a download is given up: a deadline for the whole transfer and a minimum rate, so that
/// neither a dead connection nor one that trickles a few bytes a second holds a fetch (and the
/// cache entry's lock) forever.
public struct DownloadLimits: Sendable, Equatable {
    /// Seconds to resolve the host and connect.
    public var connectTimeout: Int
    /// Seconds for the whole transfer, however steadily it progresses.
    public var deadline: Int
    /// A transfer slower than this many bytes per second …
    public var minimumBytesPerSecond: Int
    /// … for this many seconds in a row (an idle connection included) is given up.
    public var rateWindow: Int

    /// An hour for the whole file (the largest registered checkpoint, 350 MB, at 100 kB/s), and
    /// at least 1 KiB/s over every minute.
    public static let standard = DownloadLimits(connectTimeout: 60, deadline: 3600, minimumBytesPerSecond: 1024, rateWindow: 60)

    /// The environment variable that sets ``deadline`` (seconds).
    public static let deadlineVariable = "VIT_DOWNLOAD_DEADLINE"
    /// The environment variable that sets ``minimumBytesPerSecond``.
    public static let minimumRateVariable = "VIT_DOWNLOAD_MIN_RATE"

    /// Limits with these values, each in seconds or bytes per second.
    public init(connectTimeout: Int, deadline: Int, minimumBytesPerSecond: Int, rateWindow: Int) {
        self.connectTimeout = connectTimeout
        self.deadline = deadline
        self.minimumBytesPerSecond = minimumBytesPerSecond
        self.rateWindow = rateWindow
    }

    /// ``standard`` with `VIT_DOWNLOAD_DEADLINE` (seconds) and `VIT_DOWNLOAD_MIN_RATE` (bytes per
    /// second) applied when set.
    /// - Throws: `EngineError.invalidSetting(name:reason:)` naming the variable, for a value
    ///   that is not a positive whole number (never silently the default instead).
    public static func fromEnvironment(_ environment: [String: String]) throws(EngineError) -> DownloadLimits {
        var limits = standard
        func positive(_ name: String) throws(EngineError) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text), value > 0 else {
                throw .invalidSetting(name: name, reason: "'\(text)' is not a positive whole number")
            }
            return value
        }
        if let deadline = try positive(deadlineVariable) { limits.deadline = deadline }
        if let rate = try positive(minimumRateVariable) { limits.minimumBytesPerSecond = rate }
        return limits
    }

    var c: vit_download_limits {
        vit_download_limits(connect_timeout_seconds: connectTimeout, deadline_seconds: deadline,
                            minimum_bytes_per_second: minimumBytesPerSecond, rate_window_seconds: rateWindow)
    }
}
