import ArgumentParser
import Foundation
import ViTEngine

/// `vit convert`: any supported checkpoint → safetensors in the engine's canonical (timm) layout,
/// so a `.pth` from the official release needs neither Python nor a conversion script.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint (.pth/.bin from the official release or timm, or safetensors) to safetensors in timm's layout."
    )

    @Argument(help: "The checkpoint to read (format detected from its bytes).")
    var input: String

    @Argument(help: "The .safetensors file to write (atomically).")
    var output: String

    @Option(name: .shortAndLong, help: "The model the checkpoint must hold (default: detected from the tensor shapes).")
    var model: String?

    @Option(name: .long, help: "Output precision: f32, f16 or bf16 (default: the input's).")
    var dtype: String?

    @OptionGroup var nanWeights: NaNWeightsOption

    func run() throws {
        do {
            let summary = try CheckpointConverter.convert(input: input, output: output, model: model, dtype: dtype,
                                                        nonFinite: nanWeights.policy)
            print("wrote \(output): \(summary.model), \(summary.tensorCount) tensors (\(summary.dtype)), timm layout; "
                  + "skipped \(summary.skipped.count) derived buffers; source sha256 \(summary.metadata["source_sha256"]!)")
        } catch let error {
            fail(error)
        }
    }
}
