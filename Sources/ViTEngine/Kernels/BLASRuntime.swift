import CEngineSupport

/// How the engine runs OpenBLAS: its fastest kernels for this CPU, on one thread (the engine
/// spreads work over cores itself, so BLAS threads would only compete with it).
public enum BLASRuntime {
    /// What was chosen, made once before the engine's first matrix product.
    public struct Configuration: Sendable {
        /// The OpenBLAS kernel family in use, e.g. `SkylakeX`.
        public let kernel: String
        /// Whether the engine switched OpenBLAS from the kernels it detected itself.
        public let switchedToAVX512: Bool
    }

    /// Set up on first use. Debian's OpenBLAS 0.3.21 detects AMD Zen 4/5 as Haswell and runs
    /// sgemm at half speed there; the engine switches it to its AVX-512 kernels unless the user
    /// chose a core with `OPENBLAS_CORETYPE`.
    public static let configuration: Configuration = {
        let switched = vit_blas_use_avx512_kernels() != 0
        vit_blas_set_threads(1)
        return Configuration(kernel: String(cString: vit_blas_core_name()), switchedToAVX512: switched)
    }()

    /// Makes sure the configuration happened (cheap after the first call).
    @inline(__always)
    static func prepare() { _ = configuration }
}
