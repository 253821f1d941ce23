import CKernels
import XCTest
@testable import ViTEngine

/// The kernel tiers a test compares, and running a body on each of them.
enum KernelTiers {
    /// Every tier this CPU runs, best first (the reference, portable, last). A tier it cannot
    /// run is named once per process on standard error, so a log shows what was not tested.
    static var supported: [KernelISA] {
        _ = announceUntested
        return KernelISA.supported.reversed()
    }

    private static let announceUntested: Void = {
        let missing = KernelISA.allCases.filter { !$0.isSupported }
        if !missing.isEmpty {
            FileHandle.standardError.write(Data(
                "note: this CPU cannot run the \(missing.map(\.rawValue).joined(separator: ", ")) kernels: not tested here\n".utf8))
        }
    }()

    /// Runs `body` with the kernels forced to `isa`, then puts the tier that ran before back.
    static func with<T>(_ isa: KernelISA, _ body: () throws -> T) rethrows -> T {
        let before = KernelISA.current
        XCTAssertNoThrow(try KernelISA.use(isa))
        defer { try? KernelISA.use(before) }
        return try body()
    }

    /// `body(isa)` on every supported tier, each forced in turn.
    static func forEach(_ body: (KernelISA) throws -> Void) rethrows {
        for isa in supported { try with(isa) { try body(isa) } }
    }
}
