import ArgumentParser
import Foundation
import ViTEngine
import ViTImages

/// `vit preprocess`: the model input of images as `.npy`, to compare with a Python pipeline.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Write the preprocessed model input of images (N×3×H×W float32) as .npy.",
        discussion: """
            The same decoding and preprocessing as `vit classify`: PIL's convert("RGB"), then \
            timm's eval transform for the model (e.g. for efficientvit_m0: bicubic resize of the \
            shorter side to 256, center crop 224, ImageNet mean/std). Compare it with \
            `timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))`.
            """
    )

    @Argument(help: "Image files, in batch order.")
    var images: [String]

    @Option(name: .shortAndLong, help: "Model whose preprocessing to apply (see `vit models`).")
    var model: String = "m0"

    @Option(name: .shortAndLong, help: "Where to write the N×3×H×W float32 .npy.")
    var output: String

    @Option(name: .long, help: "Refuse images with more pixels than this (decompression-bomb guard).")
    var maxPixels: Int = ImageDecoder.defaultMaximumPixels

    func run() throws {
        let info: ModelInfo
        do { info = try ModelRegistry.model(named: model) } catch { fail(error) }
        do {
            let preprocessor = try ImagePreprocessor(model: info)
            let decoder = ImageDecoder(maximumPixels: maxPixels)
            var decoded: [RGBImage] = []
            for path in images { decoded.append(try decoder.decode(path: path)) }
            let tensor = preprocessor.tensor(for: decoded)
            do { try NPY.write(tensor, path: output) } catch { fail(error) }
            FileHandle.standardError.write(Data("\(info.name): \(images.count) image(s) → \(tensor.shape) in '\(output)'\n".utf8))
        } catch {
            failImages(error)
        }
    }
}
