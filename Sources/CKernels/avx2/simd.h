// The AVX2 + FMA tier's vector vocabulary for the shared kernel bodies in templates/: 8 floats a
// vector, 16 registers. Masks are integer vectors; masked loads and stores (vmaskmovps) are slow
// on some cores (microcoded stores on AMD Zen 2/3), so the bodies use them only for a vector
// that is partial. Included once, by avx2/avx2.c, inside its target region.
#ifndef VIT_SIMD_AVX2_H
#define VIT_SIMD_AVX2_H

#include <immintrin.h>
#include <math.h>

#define VL 8
#define VIT_MASKS_ARE_FREE 0
typedef __m256 vf;
typedef __m256i vm;
#define VIT_V static inline __attribute__((always_inline))

__m256 _ZGVdN8v_erff(__m256 x);  // glibc's libmvec (the vector ABI's AVX2 erff)

VIT_V vf vzero(void) { return _mm256_setzero_ps(); }
VIT_V vf vset1(float x) { return _mm256_set1_ps(x); }
VIT_V vf vload(const float *p) { return _mm256_loadu_ps(p); }
VIT_V void vstore(float *p, vf v) { _mm256_storeu_ps(p, v); }
/// The first n lanes (none for n ≤ 0, all for n ≥ VL).
VIT_V vm vmask_n(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
/// Masked-off lanes are neither read (no fault past the end of an array) nor written.
VIT_V vf vload_m(vm m, const float *p) { return _mm256_maskload_ps(p, m); }
VIT_V void vstore_m(float *p, vm m, vf v) { _mm256_maskstore_ps(p, m, v); }
VIT_V vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
VIT_V vf vfnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
VIT_V vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
VIT_V vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
VIT_V vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
/// max/min as the SSE instructions: the second operand when either is NaN.
VIT_V vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
VIT_V vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
/// Lanes of m from a, the others from b.
VIT_V vf vselect(vm m, vf a, vf b) { return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m)); }
/// Lanes of m from a, the others zero.
VIT_V vf vkeep(vm m, vf a) { return _mm256_and_ps(a, _mm256_castsi256_ps(m)); }
VIT_V float vsum(vf v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
VIT_V float vhmax(vf v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
VIT_V void vprefetch_l2(const float *p) { _mm_prefetch((const char *)p, _MM_HINT_T1); }

/// x rounded to the nearest integer, ties to even.
VIT_V vf vround(vf x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

/// p · 2ⁿ for integral n in [−159, 128] and p in [0.5, 2) (vit_exp's range), as AVX-512's scalef:
/// n = n₁ + n₂ with both halves normal powers of two, so p · 2^n₁ is exact and the second product
/// rounds once — to a subnormal, or to ∞ — exactly where p · 2ⁿ would.
VIT_V vf vscale2n(vf p, vf n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const vf s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const vf s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/// erf, from libmvec (within a few ulp).
VIT_V vf verf(vf x) { return _ZGVdN8v_erff(x); }

#endif
