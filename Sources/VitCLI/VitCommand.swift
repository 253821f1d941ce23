import ArgumentParser
import Foundation
import ViTEngine

@main
struct VitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vit",
        abstract: "Run efficient vision transformers (EfficientViT M0–M5, ViT, DeiT, …) on the CPU.",
        subcommands: [RunCommand.self, PlanCommand.self, BenchCommand.self, ReportCommand.self, ModelsCommand.self,
                      ClassifyCommand.self, PreprocessCommand.self, ConvertCommand.self, FetchCommand.self,
                      ServeCommand.self]
    )
}

/// Prints an engine error the way a user should see it and exits non-zero.
func fail(_ error: EngineError) -> Never {
    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
    Foundation.exit(1)
}
