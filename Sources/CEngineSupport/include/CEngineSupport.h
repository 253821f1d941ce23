#ifndef VIT_ENGINE_SUPPORT_H
#define VIT_ENGINE_SUPPORT_H

#include "ThreadPool.h"

/// Switches a DYNAMIC_ARCH OpenBLAS to its AVX-512 (SkylakeX) kernels when the CPU has AVX-512
/// but OpenBLAS's own detection picked an older core (0.3.21 calls AMD Zen 4/5 "Haswell", at half
/// the sgemm speed). Does nothing when the user set OPENBLAS_CORETYPE, when OpenBLAS already runs
/// AVX-512 kernels, or when the library is not a DYNAMIC_ARCH build. Returns 1 if it switched.
/// Must run before any BLAS call of the process is in flight.
int vit_blas_use_avx512_kernels(void);

/// Returns the allocator's free pages to the system (glibc's malloc_trim); 1 if some were.
int vit_return_free_memory(void);

/// Makes OpenBLAS choose its kernels again as if OPENBLAS_CORETYPE were `core` (tests use it to
/// reproduce a mis-detection). Returns 0 when the library cannot re-choose.
int vit_blas_choose_core(const char *core);

/// The name of the kernel family OpenBLAS runs now (e.g. "SkylakeX").
const char *vit_blas_core_name(void);

/// OpenBLAS's own thread count (the engine parallelizes itself and runs BLAS on one thread).
void vit_blas_set_threads(int threads);
int vit_blas_threads(void);

#endif
