import Foundation
import ViTEngine

/// Which published checkpoint of a model to use (see `Models/registry.json`).
public enum WeightSource: String, Sendable, CaseIterable {
    /// The authors' release: a PyTorch `.pth` in its own layout (EfficientViT: microsoft/Cream's;
    /// Swin: microsoft/Swin-Transformer's), which the loader maps onto timm's.
    case official
    /// timm's `model.safetensors` on the Hugging Face hub.
    case timm
}

/// Where a ``WeightCache/fetch(_:source:url:expectedSHA256:progress:)`` found or put the weights.
public struct CachedWeights: Sendable, Equatable {
    /// The weights file, ready for `Model.load(_:weights:nonFinite:)` (ViTEngine).
    public var path: String
    /// Its SHA-256, recorded when it was downloaded (in `<path>.sha256`).
    public var sha256: String?
    /// Whether this call downloaded it (false: it was already in the cache).
    public var downloaded: Bool

    /// Describes a cache entry.
    public init(path: String, sha256: String?, downloaded: Bool) {
        self.path = path
        self.sha256 = sha256
        self.downloaded = downloaded
    }
}

/// A directory of downloaded pretrained weights, safe to share between processes.
///
/// Each file lives at `<directory>/<model>/<source>-<file name>`, e.g.
/// `~/.cache/vit-engine/efficientvit_m4/official-efficientvit_m4.pth`. A file appears under
/// that name only after it was downloaded completely and verified (it parses, and holds every
/// tensor of the model with the right shape): downloads go to a hidden `.partial-…` name and are
/// renamed into place, and a per-entry lock file (`flock`) makes concurrent fetches of the same
/// weights wait for one download instead of racing.
public struct WeightCache: Sendable {
    /// The environment variable that overrides the cache directory.
    public static let environmentVariable = "VIT_ENGINE_CACHE"

    /// The cache's root directory.
    public let directory: String

    /// When a download is given up (see ``DownloadLimits``); from `VIT_DOWNLOAD_DEADLINE` and
    /// `VIT_DOWNLOAD_MIN_RATE` when they are set.
    public var limits: DownloadLimits

    /// Why the environment's download limits could not be used: thrown by the first fetch that
    /// downloads, not replaced by the defaults.
    private let limitsError: EngineError?

    /// A cache at `directory`, or at ``defaultDirectory(environment:)`` when `nil`.
    public init(directory: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.directory = directory ?? Self.defaultDirectory(environment: environment)
        do {
            limits = try DownloadLimits.fromEnvironment(environment)
            limitsError = nil
        } catch {
            limits = .standard
            limitsError = error
        }
    }

    /// `$VIT_ENGINE_CACHE`, else `$XDG_CACHE_HOME/vit-engine`, else `~/.cache/vit-engine`
    /// (the XDG base-directory convention; empty variables count as unset, as XDG says).
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment[environmentVariable], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/vit-engine" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/vit-engine"
    }

    /// The registry's URL for a model's weights from `source`.
    public static func url(for model: ModelInfo, source: WeightSource) throws(EngineError) -> URL {
        let text = source == .official ? model.weights.official : model.weights.timm
        guard let text, let url = URL(string: text) else {
            let other = source == .official ? model.weights.timm.map { _ in "it lists timm's: --source timm" } : nil
            throw .noWeightsURL(model: model.name, source: source.rawValue,
                                advice: [other, model.weights.manual].compactMap { $0 }.joined(separator: "; "))
        }
        return url
    }

    /// Where the weights of `model` from `source` live in this cache (whether or not they are
    /// there yet): named after the registry's file, so a mirror fills the same entry.
    public func path(for model: ModelInfo, source: WeightSource) -> String {
        let registryName = (try? Self.url(for: model, source: source))?.lastPathComponent ?? ""
        let name = registryName.isEmpty ? "weights" : registryName
        return "\(directory)/\(model.name)/\(source.rawValue)-\(name)"
    }

    /// The cached weights of `model`, downloading and verifying them first if they are absent.
    ///
    /// - Parameters:
    ///   - model: The registered model whose weights to fetch.
    ///   - source: The authors' release (`.official`) or timm's.
    ///   - mirror: Where to download from; `nil` uses the registry's URL for `source` (pass a mirror here).
    ///   - expectedSHA256: When given, the file (cached or downloaded) must have this digest;
    ///     otherwise the registry's digest for `source` is required when it lists one.
    ///   - progress: Called as bytes arrive (from a background thread).
    /// - Throws: `EngineError.downloadFailed(url:reason:destination:)` naming the URL and the
    ///   path to put a manually downloaded file at; `EngineError.checksumMismatch(path:expected:found:)`;
    ///   `EngineError.writeFailed(path:reason:)` when the cache directory is unusable.
    public func fetch(_ model: ModelInfo, source: WeightSource = .official, url mirror: URL? = nil,
                      expectedSHA256: String? = nil, progress: DownloadProgress? = nil) throws(EngineError) -> CachedWeights {
        let url: URL
        if let mirror { url = mirror } else { url = try Self.url(for: model, source: source) }
        let final = path(for: model, source: source)
        let registryDigest = source == .official ? model.weights.officialSHA256 : model.weights.timmSHA256
        let expected = (expectedSHA256 ?? registryDigest)?.lowercased()
        if let found = try cached(final, model: model, expected: expected) { return found }

        let entryDirectory = (final as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: entryDirectory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(path: entryDirectory, reason: "cannot create the cache directory: \(error.localizedDescription)")
        }
        let name = (final as NSString).lastPathComponent
        let lock = try FileLock(path: "\(entryDirectory)/.\(name).lock")
        defer { lock.unlock() }
        // Another process may have finished the download while this one waited for the lock.
        if let found = try cached(final, model: model, expected: expected) { return found }
        removeStalePartials(in: entryDirectory, name: name)

        let partial = "\(entryDirectory)/.\(name).partial-\(getpid())-\(UUID().uuidString)"
        func failed(_ reason: String) -> EngineError {
            unlink(partial)
            return .downloadFailed(url: url.absoluteString, reason: reason, destination: final)
        }
        if let limitsError { throw limitsError }
        let file: DownloadedFile
        do {
            file = try HTTPDownload.run(url, to: partial, limits: limits, progress: progress)
        } catch {
            throw failed(error.reason)
        }
        if let expected, file.sha256 != expected {
            unlink(partial)
            throw .checksumMismatch(path: url.absoluteString, expected: expected, found: file.sha256)
        }
        do {
            try Model.validateWeights(WeightsFile.open(path: partial), for: model)
        } catch {
            let problem = error.description.replacingOccurrences(of: "'\(partial)'", with: "it")
            throw failed("the downloaded file (\(file.bytes) bytes) is not a usable \(model.name) checkpoint: \(problem)")
        }
        // Record the digest first: the weights' final name is the last thing to appear. The
        // file's size and modification time as verified go with it (rename keeps both), so a use
        // of the unchanged file need not parse it again.
        let record = Data("\(file.sha256)  \(name)\n\(url.absoluteString)\n\(Self.stamp(partial) ?? "")\n".utf8)
        guard FileManager.default.createFile(atPath: partial + ".sha256", contents: record),
              rename(partial + ".sha256", final + ".sha256") == 0, rename(partial, final) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial + ".sha256")
            unlink(partial)
            throw .writeFailed(path: final, reason: "cannot move the verified download into the cache: \(reason)")
        }
        return CachedWeights(path: final, sha256: file.sha256, downloaded: true)
    }

    /// The cache entry at `path` if there is one, checked again on use: its digest when one is
    /// expected, and — unless it is the very file verified at download (same size and
    /// modification time as recorded then) — that it still parses with every tensor of the
    /// model by name and shape (no tensor data read), so a file damaged, replaced or placed by
    /// hand is not handed out as verified.
    private func cached(_ path: String, model: ModelInfo, expected: String?) throws(EngineError) -> CachedWeights? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let record = (try? String(contentsOfFile: path + ".sha256", encoding: .utf8))?.split(separator: "\n") ?? []
        if record.count < 3 || Self.stamp(path).map({ $0 != record[2] }) ?? true {
            do {
                try Model.checkWeightsLayout(WeightsFile.open(path: path), for: model)
            } catch {
                throw .invalidCheckpoint(path: path, reason: "the cached file is not a usable \(model.name) checkpoint any more "
                                         + "(\(error.description)); delete it to download it again")
            }
        }
        let recorded = record.first?.split(separator: " ").first.map(String.init)
        guard let expected else { return CachedWeights(path: path, sha256: recorded, downloaded: false) }
        let found = try SHA256.hexDigest(ofFile: path)
        guard found == expected else { throw .checksumMismatch(path: path, expected: expected, found: found) }
        return CachedWeights(path: path, sha256: found, downloaded: false)
    }

    /// The file's size and modification time, as one comparable line.
    private static func stamp(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber, let modified = attributes[.modificationDate] as? Date else { return nil }
        return "verified \(size) \(modified.timeIntervalSince1970)"
    }

    /// Partial downloads left by processes that died: only the lock holder can be downloading.
    private func removeStalePartials(in directory: String, name: String) {
        let prefix = ".\(name).partial-"
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasPrefix(prefix) {
            unlink("\(directory)/\(file)")
        }
    }
}
