import ArgumentParser
import Foundation
import ViTEngine
import ViTHub

/// `vit run`: raw tensors in and out, so users can check the engine against their own reference.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on an N×3×H×W float32 .npy batch and write the logits as .npy."
    )

    @Option(name: .shortAndLong, help: "Model name or alias (see `vit models`), e.g. m0 or efficientvit_m0.")
    var model: String

    @Option(name: .shortAndLong, help: "Weights: .safetensors or .pth/.bin, in timm's layout or the official release's (Cream, Swin) (default: the pretrained weights, downloaded into the cache once).")
    var weights: String?

    @OptionGroup var pretrained: WeightOptions

    @Option(name: .shortAndLong, help: "Input batch: .npy, float32 (or float16/float64), shape N×3×H×W.")
    var input: String

    @Option(name: .shortAndLong, help: "Where to write the N×classes logits (.npy, float32).")
    var output: String

    @Option(name: .long, help: "Also write the N×C pooled pre-logits features (.npy).")
    var features: String?

    @OptionGroup var nanWeights: NaNWeightsOption

    @OptionGroup var kernels: KernelISAOptions

    func run() throws {
        do {
            try kernels.apply()
            let net = try Model.load(model, weights: weights ?? pretrained.resolve(ModelRegistry.model(named: model)).path,
                                     nonFinite: nanWeights.policy)
            let tensor = try NPY.read(path: input)
            guard tensor.shape.count == 4, tensor.shape[1] == 3 else {
                throw EngineError.invalidInputShape(expected: "[N, 3, H, W] in '\(input)'", found: tensor.shape)
            }
            let session = try net.makeSession(batch: tensor.shape[0], height: tensor.shape[2], width: tensor.shape[3])
            let prediction = try session.run(tensor)
            try NPY.write(prediction.logits, path: output)
            if let features {
                try NPY.write(prediction.features, path: features)
            }
            let arenaKiB = session.arenaBytes / 1024
            FileHandle.standardError.write(Data(
                "\(net.info.name): \(tensor.shape) → logits \(prediction.logits.shape) in '\(output)' (arena \(arenaKiB) KiB)\n".utf8))
        } catch let error as EngineError {
            fail(error)
        }
    }
}
