import ArgumentParser
import Foundation
import ViTEngine

/// `vit plan`: what a model needs in memory for one input shape, without running it.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the memory plan of a model for one input shape (no weights needed)."
    )

    @Option(name: .shortAndLong, help: "Model name or alias, e.g. m0.")
    var model: String

    @Option(name: .shortAndLong, help: "Batch size.")
    var batch: Int = 1

    @Option(name: .shortAndLong, help: "Threads the session runs on (each has its own scratch).")
    var threads: Int = 1

    @Option(name: .long, help: "Input height.")
    var height: Int = 224

    @Option(name: .long, help: "Input width.")
    var width: Int = 224

    func run() throws {
        do throws(EngineError) {
            let net = try Model.placeholder(ModelRegistry.model(named: model))
            let session = try net.makeSession(batch: batch, height: height, width: width, threads: threads)
            print("\(net.info.name) input \(session.inputShape), \(session.threads) thread(s)")
            print("  MACs:        \(session.macs)")
            print("  parameters:  \(net.parameterCount)")
            print("  arena:       \(session.arenaBytes) bytes (\(String(format: "%.2f", Double(session.arenaBytes) / 1_048_576)) MiB)")
        } catch {
            fail(error)
        }
    }
}
