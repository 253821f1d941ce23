#include "vector_math.h"

int vit_cpu_has_avx512(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        // The AVX-512 subsets of Skylake-X and later (what OpenBLAS's SkylakeX kernels need too).
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    }
    return known;
}

static _Atomic int portable_only = 0;

void vit_kernels_use_portable(int on) { portable_only = on; }

int vit_kernels_use_avx512(void) { return vit_cpu_has_avx512() && !portable_only; }

// The last n % 16 elements go through the same 16-wide function on a masked vector, so every
// element of a row is computed the same way wherever the row starts (results do not depend on
// how a layer is cut into work items).
__attribute__((target("avx512f")))
static void gelu_row_avx512(float *x, int n) {
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, vit_gelu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, vit_gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void vit_gelu_row(float *x, int n) {
    if (vit_kernels_use_avx512()) {
        gelu_row_avx512(x, n);
    } else {
        for (int i = 0; i < n; i++) x[i] = vit_gelu(x[i]);
    }
}

__attribute__((target("avx512f")))
static float exp_row_avx512(float *x, int n, float shift) {
    const __m512 s = _mm512_set1_ps(shift);
    __m512 sum = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 e = vit_exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
        _mm512_storeu_ps(x + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        const __m512 e = vit_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s));
        _mm512_mask_storeu_ps(x + i, m, e);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(m, e));
    }
    return _mm512_reduce_add_ps(sum);
}

float vit_exp_row(float *x, int n, float shift) {
    if (vit_kernels_use_avx512()) return exp_row_avx512(x, n, shift);
    float sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - shift);
        sum += x[i];
    }
    return sum;
}
