// Elementwise math shared by the kernels: activations and the vector exp/erf they need.
//
// Exact (erf) GELU and softmax's exp must be both accurate and vectorized. glibc's libmvec has
// AVX-512 versions of erff and expf (accurate to a few ulp, the vector ABI's `_ZGVeN16v_` names);
// C compilers only call them under -ffast-math, which the engine does not use, so the kernels
// call them by name. The scalar paths use libm's erff/expf.
#ifndef VIT_VECTOR_MATH_H
#define VIT_VECTOR_MATH_H

#include "CKernels.h"

#include <immintrin.h>
#include <math.h>

__attribute__((target("avx512f"))) __m512 _ZGVeN16v_erff(__m512 x);
__attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512 x);

/// PyTorch's exact GELU, `x · 0.5 · (1 + erf(x / √2))`, in PyTorch's order of operations.
static inline float vit_gelu(float x) { return x * 0.5f * (1.0f + erff(x * (float)M_SQRT1_2)); }

static inline float vit_activate(float v, int act) {
    if (act == VIT_ACT_RELU) return v > 0 ? v : 0;
    if (act == VIT_ACT_GELU) return vit_gelu(v);
    return v;
}

__attribute__((target("avx512f"), always_inline))
static inline __m512 vit_gelu16(__m512 x) {
    const __m512 e = _ZGVeN16v_erff(_mm512_mul_ps(x, _mm512_set1_ps((float)M_SQRT1_2)));
    return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/// x[i] = gelu(x[i]) for one row (AVX-512 when the CPU has it).
void vit_gelu_row(float *x, int n);

/// x[i] = exp(x[i] − shift) for one row; returns the sum of the results.
float vit_exp_row(float *x, int n, float shift);

#endif
