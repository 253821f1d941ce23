// The one place that decides which instruction-set tier the kernels run: the best the CPU has,
// unless VIT_ISA names a lower one (or a test or `--isa` asks for one through vit_kernels_set_isa).
#include "backend.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)  // <asm/hwcap.h>'s bit, for C libraries whose headers lack it
#endif
#endif

static const char *const names[VIT_ISA_COUNT] = {
    [VIT_ISA_PORTABLE] = "portable", [VIT_ISA_AVX2] = "avx2", [VIT_ISA_AVX512] = "avx512", [VIT_ISA_NEON] = "neon"};

const char *vit_isa_name(int isa) { return isa >= 0 && isa < VIT_ISA_COUNT ? names[isa] : "unknown"; }

static const vit_backend *table(int isa) {
    switch (isa) {
#if defined(__x86_64__)
    case VIT_ISA_AVX512: return &vit_backend_avx512;
    case VIT_ISA_AVX2: return &vit_backend_avx2;
#endif
#if defined(__aarch64__)
    case VIT_ISA_NEON: return &vit_backend_neon;
#endif
    case VIT_ISA_PORTABLE: return &vit_backend_portable;
    default: return NULL;
    }
}

int vit_cpu_has_avx512(void) { return vit_isa_supported(VIT_ISA_AVX512); }

// What the CPU has, read once: bit isa set when it runs that tier (atomic, so that threads making
// their first kernel call together agree without a lock; they compute the same value).
static _Atomic int cpu_tiers = 0;

static int detect_tiers(void) {
    int tiers = 1 << VIT_ISA_PORTABLE;
#if defined(__x86_64__)
    __builtin_cpu_init();
    // AVX2 with FMA (Haswell, Zen and later); the AVX-512 subsets of Skylake-X and later (what
    // OpenBLAS's SkylakeX kernels need too). Both checks include the OS's support for saving the
    // wider registers.
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    tiers |= avx2 << VIT_ISA_AVX2 | avx512 << VIT_ISA_AVX512;
#elif defined(__aarch64__)
    // Advanced SIMD is architectural in ARMv8-A: every AArch64 CPU a general-purpose OS runs on
    // has it (Apple's always). Linux reports it all the same, and is asked: a kernel built
    // without FP/SIMD support would trap the tier's first instruction.
#if defined(__linux__)
    const int neon = (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#else
    const int neon = 1;  // __APPLE__ and the others
#endif
    tiers |= neon << VIT_ISA_NEON;
#endif
    return tiers;
}

int vit_isa_supported(int isa) {
    if (isa < 0 || isa >= VIT_ISA_COUNT || table(isa) == NULL) return 0;
    int tiers = atomic_load_explicit(&cpu_tiers, memory_order_relaxed);
    if (tiers == 0) {
        tiers = detect_tiers();
        atomic_store_explicit(&cpu_tiers, tiers, memory_order_relaxed);
    }
    return (tiers >> isa) & 1;
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

// The running table: one atomic pointer, so the tier reported is always the one that runs.
static _Atomic(const vit_backend *) active = NULL;

static int initial_isa(void) {
    const int requested = vit_isa_from_environment();
    return requested >= 0 && vit_isa_supported(requested) ? requested : vit_isa_best();
}

const vit_backend *vit_active_backend(void) {
    const vit_backend *b = atomic_load_explicit(&active, memory_order_acquire);
    if (b) return b;
    // First use: install the initial tier unless vit_kernels_set_isa got there first.
    const vit_backend *expected = NULL, *initial = table(initial_isa());
    if (atomic_compare_exchange_strong_explicit(&active, &expected, initial, memory_order_acq_rel,
                                                memory_order_acquire)) {
        return initial;
    }
    return expected;
}

int vit_kernels_set_isa(int isa) {
    if (!vit_isa_supported(isa)) return 0;
    atomic_store_explicit(&active, table(isa), memory_order_release);
    return 1;
}

int vit_kernels_isa(void) {
    const vit_backend *b = vit_active_backend();
    for (int isa = 0; isa < VIT_ISA_COUNT; isa++) {
        if (table(isa) == b) return isa;
    }
    return VIT_ISA_PORTABLE;
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
