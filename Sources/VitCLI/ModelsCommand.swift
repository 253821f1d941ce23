import ArgumentParser
import Foundation
import ViTEngine

/// `vit models`: the registry, so users see names, aliases and where weights come from.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the supported models, their published accuracy and weight sources."
    )

    func run() throws {
        for m in ModelRegistry.all {
            let p = m.published
            print("\(m.name)  (aliases: \(m.aliases.joined(separator: ", ")))")
            print("  top-1 " + (p.top1.map { "\($0)% (published)" } ?? "not published") + ", \(p.paramsMillions)M params, \(p.gmacs) GMACs at 224×224")
            if let url = m.weights.official { print("  official weights: \(url)") }
            if let url = m.weights.timm { print("  timm weights:     \(url)") }
            if let manual = m.weights.manual { print("  weights by hand:  \(manual)") }
        }
    }
}
