import ArgumentParser
import Foundation
import ViTEngine
import ViTHub

/// `vit fetch`: download and verify a model's pretrained weights into the cache, print the path.
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a model's pretrained weights into the cache (verified), and print their path."
    )

    @Option(name: .shortAndLong, help: "Model name or alias, e.g. m4.")
    var model: String

    @OptionGroup var weights: WeightOptions

    func run() throws {
        do {
            let info = try ModelRegistry.model(named: model)
            let cached = try weights.resolve(info)
            let state = cached.downloaded ? "downloaded and verified" : "already cached"
            let digest = cached.sha256.map { ", sha256 \($0)" } ?? ""
            FileHandle.standardError.write(Data("\(info.name): \(state)\(digest)\n".utf8))
            print(cached.path)
        } catch let error {
            fail(error)
        }
    }
}
