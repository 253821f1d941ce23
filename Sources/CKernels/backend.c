// The one place that decides which instruction-set tier the kernels run: the best the CPU has,
// unless VIT_ISA names a lower one (or a test or `--isa` asks for one through vit_kernels_set_isa).
#include "backend.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[VIT_ISA_COUNT] = {"portable", "avx2", "avx512"};

const char *vit_isa_name(int isa) { return isa >= 0 && isa < VIT_ISA_COUNT ? names[isa] : "unknown"; }

static const vit_backend *table(int isa) {
    switch (isa) {
#if defined(__x86_64__)
    case VIT_ISA_AVX512: return &vit_backend_avx512;
    case VIT_ISA_AVX2: return &vit_backend_avx2;
#endif
    case VIT_ISA_PORTABLE: return &vit_backend_portable;
    default: return NULL;
    }
}

int vit_cpu_has_avx512(void) { return vit_isa_supported(VIT_ISA_AVX512); }

int vit_isa_supported(int isa) {
    if (isa == VIT_ISA_PORTABLE) return 1;
#if defined(__x86_64__)
    static int known[VIT_ISA_COUNT] = {1, -1, -1};
    if (isa != VIT_ISA_AVX2 && isa != VIT_ISA_AVX512) return 0;
    if (known[isa] < 0) {
        __builtin_cpu_init();
        // AVX2 with FMA (Haswell, Zen and later); the AVX-512 subsets of Skylake-X and later
        // (what OpenBLAS's SkylakeX kernels need too). Both checks include the OS's support
        // for saving the wider registers.
        known[VIT_ISA_AVX2] = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        known[VIT_ISA_AVX512] = known[VIT_ISA_AVX2] && __builtin_cpu_supports("avx512f")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl");
    }
    return known[isa];
#else
    return 0;
#endif
}

int vit_isa_best(void) {
    int best = VIT_ISA_PORTABLE;
    for (int isa = 0; isa < VIT_ISA_COUNT; isa++) {
        if (vit_isa_supported(isa)) best = isa;
    }
    return best;
}

int vit_isa_from_environment(void) {
    const char *value = getenv("VIT_ISA");
    if (value == NULL || value[0] == 0) return VIT_ISA_UNSET;
    for (int isa = 0; isa < VIT_ISA_COUNT; isa++) {
        if (strcmp(value, names[isa]) == 0) return isa;
    }
    return VIT_ISA_UNKNOWN;
}

static _Atomic(const vit_backend *) active = NULL;
static _Atomic int active_isa = -1;

static int initial_isa(void) {
    const int requested = vit_isa_from_environment();
    return requested >= 0 && vit_isa_supported(requested) ? requested : vit_isa_best();
}

const vit_backend *vit_active_backend(void) {
    const vit_backend *b = atomic_load_explicit(&active, memory_order_acquire);
    if (b) return b;
    vit_kernels_set_isa(initial_isa());
    return atomic_load_explicit(&active, memory_order_acquire);
}

int vit_kernels_set_isa(int isa) {
    if (!vit_isa_supported(isa) || table(isa) == NULL) return 0;
    atomic_store_explicit(&active_isa, isa, memory_order_relaxed);
    atomic_store_explicit(&active, table(isa), memory_order_release);
    return 1;
}

int vit_kernels_isa(void) {
    vit_active_backend();
    return atomic_load_explicit(&active_isa, memory_order_relaxed);
}

int vit_gemm_row_tile(void) { return vit_active_backend()->gemm_rows; }

int vit_gemm_max_row_tile(void) {
    int most = 0;
    for (int isa = 0; isa < VIT_ISA_COUNT; isa++) {
        const vit_backend *b = table(isa);
        if (b && b->gemm_rows > most) most = b->gemm_rows;
    }
    return most;
}

int vit_gemm_panel_width(void) { return VIT_PANEL; }
