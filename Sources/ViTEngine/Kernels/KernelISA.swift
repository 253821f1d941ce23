import CKernels
import Foundation

/// The instruction-set tier the engine's kernels run on.
///
/// Every hot kernel (the packed GEMM with its fused epilogues, depthwise and dense convolutions,
/// the small-window attention head, exp, GELU and LayerNorm rows) exists once per tier, and the
/// engine runs the best tier the CPU supports. Forcing a lower one — the environment variable
/// `VIT_ISA=avx512|avx2|neon|portable`, `vit … --isa`, or ``use(_:)`` — reproduces on one machine
/// what another CPU runs, or isolates a kernel problem. Every tier computes the same sums in the
/// same order; results differ between tiers only in the last bits of exp, erf and softmax sums.
public enum KernelISA: String, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    /// Plain C on 4-float vectors that the compiler maps to any CPU's vector unit.
    case portable
    /// AVX2 with FMA: 16 registers of 8 floats (Intel Haswell, AMD Zen 1–3 and later).
    case avx2
    /// AVX-512 F/BW/DQ/VL: 32 registers of 16 floats (Intel Skylake-X, AMD Zen 4 and later).
    case avx512
    /// AArch64 Advanced SIMD: 32 registers of 4 floats (Apple silicon, AWS Graviton, Ampere).
    /// Only an AArch64 build has it; an x86-64 build's ``supported`` never lists it.
    case neon

    var code: Int32 {
        switch self {
        case .portable: Int32(VIT_ISA_PORTABLE)
        case .avx2: Int32(VIT_ISA_AVX2)
        case .avx512: Int32(VIT_ISA_AVX512)
        case .neon: Int32(VIT_ISA_NEON)
        }
    }

    init?(code: Int32) {
        guard let isa = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = isa
    }

    public var description: String { rawValue }

    public static func < (a: KernelISA, b: KernelISA) -> Bool { a.code < b.code }

    /// Whether this CPU can run the tier.
    public var isSupported: Bool { vit_isa_supported(code) != 0 }

    /// The tiers this CPU can run, lowest first.
    public static var supported: [KernelISA] { allCases.filter(\.isSupported) }

    /// The best tier this CPU runs (what the engine uses unless told otherwise).
    public static var best: KernelISA { KernelISA(code: vit_isa_best()) ?? .portable }

    /// The tier the kernels run on now.
    public static var current: KernelISA { KernelISA(code: vit_kernels_isa()) ?? .portable }

    /// Runs every kernel on `isa` from now on, process-wide. Call it before sessions run (not
    /// while one runs on another thread).
    /// - Throws: ``KernelISAError/unsupported(_:cpuBest:)`` when this CPU cannot run `isa`.
    public static func use(_ isa: KernelISA) throws(KernelISAError) {
        guard vit_kernels_set_isa(isa.code) != 0 else { throw KernelISAError.unsupported(isa, cpuBest: best) }
    }

    /// The tier `VIT_ISA` asks for, or nil when it is not set.
    /// - Throws: ``KernelISAError/unknown(_:)`` for a value that names no tier, and
    ///   ``KernelISAError/unsupported(_:cpuBest:)`` for a tier this CPU cannot run (the kernels
    ///   then run ``best``; the engine refuses to start a session rather than run something else
    ///   than what was asked).
    public static func fromEnvironment() throws(KernelISAError) -> KernelISA? {
        let code = vit_isa_from_environment()
        if code == Int32(VIT_ISA_UNSET) { return nil }
        guard let isa = KernelISA(code: code) else {
            throw KernelISAError.unknown(ProcessInfo.processInfo.environment["VIT_ISA"] ?? "")
        }
        guard isa.isSupported else { throw KernelISAError.unsupported(isa, cpuBest: best) }
        return isa
    }

    /// Parses a tier's name as `VIT_ISA` and `--isa` spell it.
    /// - Throws: ``KernelISAError/unknown(_:)``.
    public init(parsing name: String) throws(KernelISAError) {
        guard let isa = KernelISA(rawValue: name.lowercased()) else { throw KernelISAError.unknown(name) }
        self = isa
    }
}

/// A kernel tier that was asked for and cannot run.
public enum KernelISAError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The name is not a tier.
    case unknown(String)
    /// This CPU cannot run the tier; `cpuBest` is the best it can.
    case unsupported(KernelISA, cpuBest: KernelISA)

    public var description: String {
        let names = KernelISA.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case .unknown(let name):
            return "'\(name)' is not a kernel instruction set: expected one of \(names) (VIT_ISA or --isa)"
        case .unsupported(let isa, let best):
            return "this CPU cannot run the \(isa) kernels: the best it runs is \(best) "
                + "(supported: \(KernelISA.supported.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}

/// The tile geometry the running kernel tier asks its callers to cut work by (`CKernels`
/// decides it; nothing in Swift hard-codes a tier's tile).
enum KernelGeometry {
    /// Columns of a packed weight panel: the same on every tier (weights are packed once, at load).
    static var panelColumns: Int { Int(vit_gemm_panel_width()) }

    /// Rows of the running tier's tallest GEMM tile.
    static var gemmRowTile: Int { Int(vit_gemm_row_tile()) }

    /// The tallest GEMM tile of any tier: bounds what a row block may grow by when rounded to
    /// tiles, whichever tier runs when a plan is used.
    static let maximumGEMMRowTile = Int(vit_gemm_max_row_tile())
}
