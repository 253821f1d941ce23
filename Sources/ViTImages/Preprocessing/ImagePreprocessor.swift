import ViTEngine

/// timm's evaluation transform for a model, reproduced bit for bit:
/// `timm.data.create_transform(**resolve_data_config({}, model=model))`, which for a square input
/// size S with crop fraction p is
///
/// 1. `Resize(floor(S / p), interpolation)`: the shorter side to `floor(S / p)` (the longer to
///    `int(floor(S / p) · long / short)`, torchvision's rule) with PIL's filter (antialiased);
/// 2. `CenterCrop(S)`: offsets `int(round((size − S) / 2))`, Python's round (half to even);
/// 3. `ToTensor()`: CHW float32, `value / 255`;
/// 4. `Normalize(mean, std)`: `(x − mean) / std` in float32.
///
/// For EfficientViT at 224: bicubic resize of the shorter side to 256, crop 224, ImageNet
/// mean/std. All parameters come from the model's registry entry.
///
/// ```swift
/// let preprocessor = try ImagePreprocessor(model: ModelRegistry.model(named: "m0"))
/// let input = preprocessor.tensor(for: [image])      // Tensor [1, 3, 224, 224]
/// ```
public struct ImagePreprocessor: Sendable {
    /// Height of the model input (the crop).
    public let cropHeight: Int
    /// Width of the model input (the crop).
    public let cropWidth: Int
    /// The length the shorter image side is resized to.
    public let resizeShorterSide: Int
    /// The resampling filter of the resize (the registry's `interpolation`).
    public let filter: ResampleFilter
    /// Per-channel mean (float32, as torch holds it), subtracted after scaling to [0, 1].
    public let mean: [Float]
    /// Per-channel standard deviation (float32), divided by after subtracting the mean.
    public let std: [Float]

    /// The preprocessing of a registered model.
    public init(model: ModelInfo) throws(ImageError) {
        try self.init(config: model.preprocess, model: model.name)
    }

    /// The preprocessing described by a registry `preprocess` entry; `model` names it in errors.
    public init(config: PreprocessConfig, model: String) throws(ImageError) {
        func refuse(_ reason: String) -> ImageError { .unsupportedPreprocessing(model: model, reason: reason) }
        guard config.inputSize.count == 3, config.inputSize[0] == 3 else {
            throw refuse("input_size \(config.inputSize) is not [3, H, W]")
        }
        let height = config.inputSize[1], width = config.inputSize[2]
        guard height > 0, width > 0, height <= Model.maximumSide, width <= Model.maximumSide else {
            throw refuse("input_size \(config.inputSize) is out of range")
        }
        // timm switches to its ResizeKeepRatio transform for non-square inputs; not reproduced.
        guard height == width else { throw refuse("a non-square input_size \(config.inputSize)") }
        // crop_pct > 1 makes torchvision pad the resized image before cropping; not reproduced.
        guard config.cropPct > 0, config.cropPct <= 1 else { throw refuse("crop_pct \(config.cropPct) is not in (0, 1]") }
        guard let filter = ResampleFilter(rawValue: config.interpolation) else {
            throw refuse("interpolation '\(config.interpolation)' (supported: "
                         + ResampleFilter.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        guard config.mean.count == 3, config.std.count == 3, config.std.allSatisfy({ $0 > 0 }) else {
            throw refuse("mean \(config.mean) / std \(config.std) are not three values with std > 0")
        }
        cropHeight = height
        cropWidth = width
        // math.floor(S / crop_pct), in double precision as Python computes it.
        resizeShorterSide = Int((Double(height) / config.cropPct).rounded(.down))
        self.filter = filter
        mean = config.mean.map { Float($0) }
        std = config.std.map { Float($0) }
    }

    /// torchvision's `Resize(size)` output size for an image: the shorter side becomes `size`,
    /// the longer `int(size · long / short)` (truncated).
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(resizeShorterSide * long) / Double(short))
        return width <= height ? (resizeShorterSide, newLong) : (newLong, resizeShorterSide)
    }

    /// The 8-bit RGB crop the model sees before `ToTensor`: PIL's resize, then the center crop.
    /// Only the kept pixels are computed, so memory stays bounded for any aspect ratio.
    public func resizedAndCropped(_ image: RGBImage) -> RGBImage {
        let (width, height) = resizedSize(width: image.width, height: image.height)
        // Python's round() rounds halves to even; (size − crop) / 2 is an integer or a half.
        let top = Int((Double(height - cropHeight) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - cropWidth) / 2).rounded(.toNearestOrEven))
        return Resampler.resize(image, outWidth: width, outHeight: height, filter: filter,
                                rows: top..<(top + cropHeight), columns: left..<(left + cropWidth))
    }

    /// Writes the normalized `3 × cropHeight × cropWidth` (CHW) values of a crop into `output`.
    public func normalize(_ crop: RGBImage, into output: inout ArraySlice<Float>) {
        precondition(crop.width == cropWidth && crop.height == cropHeight && output.count == 3 * cropHeight * cropWidth)
        let plane = cropHeight * cropWidth
        let base = output.startIndex
        crop.pixels.withUnsafeBufferPointer { pixels in
            for c in 0..<3 {
                let m = mean[c], s = std[c]
                for i in 0..<plane {
                    // ToTensor divides by 255 in float32; Normalize subtracts, then divides.
                    output[base + c * plane + i] = (Float(pixels[3 * i + c]) / 255 - m) / s
                }
            }
        }
    }

    /// The model input for one image: `[3, cropHeight, cropWidth]` values, normalized.
    public func values(for image: RGBImage) -> [Float] {
        var values = [Float](repeating: 0, count: 3 * cropHeight * cropWidth)[...]
        normalize(resizedAndCropped(image), into: &values)
        return Array(values)
    }

    /// The model input for a batch of images: a tensor `[N, 3, cropHeight, cropWidth]`.
    public func tensor(for images: [RGBImage]) -> Tensor {
        let size = 3 * cropHeight * cropWidth
        var values = [Float](repeating: 0, count: images.count * size)
        for (n, image) in images.enumerated() {
            normalize(resizedAndCropped(image), into: &values[(n * size)..<((n + 1) * size)])
        }
        return Tensor(shape: [images.count, 3, cropHeight, cropWidth], values: values)
    }
}
