// Elementwise math shared by the kernels: activations and the vector exp/erf they need.
//
// Exact (erf) GELU and softmax's exp must be both accurate and vectorized. glibc's libmvec has
// an AVX-512 erff (accurate to a few ulp, the vector ABI's `_ZGVeN16v_` name); C compilers only
// call it under -ffast-math, which the engine does not use, so GELU calls it by name. Softmax's
// exp is vit_exp16 below. The scalar paths use libm's erff/expf.
#ifndef VIT_VECTOR_MATH_H
#define VIT_VECTOR_MATH_H

#include "CKernels.h"

#include <immintrin.h>
#include <math.h>

__attribute__((target("avx512f"))) __m512 _ZGVeN16v_erff(__m512 x);

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

/// exp(x) in 16 lanes, within 1.3 ulp of the true value (measured on every 7th float of
/// [−120, 100]; denormal results round as libm's do, +inf above 88.73, NaN stays NaN).
/// Softmax's exp, inlined: libmvec's expf cost about 30 cycles a vector through its call and
/// special-case checks, a third of a 7×7-window attention head; this is 14 instructions.
/// exp(x) = 2ⁿ · exp(r) with n = round(x / ln 2) and r = x − n · ln 2 (ln 2 in two parts, so
/// n · ln2_hi is exact), |r| ≤ ln 2 / 2, where exp(r) is Cephes' expf polynomial
/// 1 + r + r² · P(r); scalef applies 2ⁿ with IEEE overflow and gradual underflow.
__attribute__((target("avx512f"), always_inline))
static inline __m512 vit_exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(-110.0f), x);  // the second operand is returned for NaN
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/// x[i] = gelu(x[i]) for one row (AVX-512 when the CPU has it).
void vit_gelu_row(float *x, int n);

/// x[i] = exp(x[i] − shift) for one row; returns the sum of the results.
float vit_exp_row(float *x, int n, float shift);

#endif
