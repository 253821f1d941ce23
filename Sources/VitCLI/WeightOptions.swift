import ArgumentParser
import Foundation
import ViTEngine
import ViTHub

/// Where pretrained weights come from when `--weights` is not given: shared by `run` and `fetch`.
struct WeightOptions: ParsableArguments {
    @Option(name: .long, help: "Which published weights to download: official (the authors' .pth) or timm (safetensors).")
    var source: WeightSourceOption = .official

    @Option(name: .long, help: "Weights cache directory (default: $VIT_ENGINE_CACHE, else $XDG_CACHE_HOME/vit-engine, else ~/.cache/vit-engine).")
    var cacheDir: String?

    @Option(name: .long, help: "Download from this URL (a mirror) instead of the registry's.")
    var url: String?

    @Option(name: .long, help: "The SHA-256 the weights must have (hex).")
    var sha256: String?

    /// The cached weights of `model`, downloaded (with a progress bar on a terminal) if absent.
    func resolve(_ model: ModelInfo) throws(EngineError) -> CachedWeights {
        var mirror: URL?
        if let url {
            guard let parsed = URL(string: url), parsed.scheme != nil else {
                throw .downloadFailed(url: url, reason: "not a URL", destination: "(none)")
            }
            mirror = parsed
        }
        let cache = WeightCache(directory: cacheDir)
        let bar = ProgressBar.forStandardError(label: "\(model.name) (\(source.rawValue))")
        defer { bar?.finish() }
        var progress: DownloadProgress?
        if let bar {
            progress = { received, total in bar.update(received: received, total: total) }
        }
        return try cache.fetch(model, source: source.value, url: mirror, expectedSHA256: sha256, progress: progress)
    }
}

enum WeightSourceOption: String, ExpressibleByArgument, CaseIterable {
    case official, timm
    var value: WeightSource { self == .official ? .official : .timm }
}

/// `--allow-nan-weights`, for `run` (to compare a diverged checkpoint with its reference) and
/// `convert` (to keep such a checkpoint as it is).
struct NaNWeightsOption: ParsableArguments {
    @Flag(name: .long, help: "Load NaN weights and negative BatchNorm variances (refused by default); NaN then propagates as in PyTorch. Infinite weights stay refused.")
    var allowNaNWeights = false

    var policy: NonFiniteWeights { allowNaNWeights ? .propagateNaN : .refuse }
}
