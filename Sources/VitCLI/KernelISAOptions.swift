import ArgumentParser
import Foundation
import ViTEngine

/// `--isa`: the instruction-set tier of the engine's kernels, shared by `bench`, `run`, `report`
/// and `serve`.
struct KernelISAOptions: ParsableArguments {
    @Option(name: .long, help: "Kernel instruction set: avx512, avx2, neon or portable (default: $VIT_ISA, else the best this CPU runs).")
    var isa: String?

    /// Runs the kernels on `--isa` from now on, or checks `VIT_ISA` when it is not given. The
    /// tier is put in `VIT_ISA` too, so child processes (`vit report`'s measurements) run it.
    /// - Throws: ``EngineError/kernelISA(_:)`` for a name that is no tier or a tier this CPU cannot run.
    func apply() throws(EngineError) {
        do {
            guard let isa else {
                _ = try KernelISA.fromEnvironment()
                return
            }
            let tier = try KernelISA(parsing: isa)
            try KernelISA.use(tier)
            setenv("VIT_ISA", tier.rawValue, 1)
        } catch {
            throw .kernelISA(error)
        }
    }
}
