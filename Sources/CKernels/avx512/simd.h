// The AVX-512 tier's vector vocabulary for the shared kernel bodies in templates/: 16 floats a
// vector, masks in k registers (masked loads and stores cost what plain ones do, so the bodies
// use them wherever a vector may be partial). Included once, by avx512/avx512.c, inside its
// target region.
#ifndef VIT_SIMD_AVX512_H
#define VIT_SIMD_AVX512_H

#include <immintrin.h>
#include <math.h>

#define VL 16
#define VIT_MASKS_ARE_FREE 1
typedef __m512 vf;
typedef __mmask16 vm;
#define VIT_V static inline __attribute__((always_inline))

__m512 _ZGVeN16v_erff(__m512 x);  // glibc's libmvec (the vector ABI's AVX-512 erff)

VIT_V vf vzero(void) { return _mm512_setzero_ps(); }
VIT_V vf vset1(float x) { return _mm512_set1_ps(x); }
VIT_V vf vload(const float *p) { return _mm512_loadu_ps(p); }
VIT_V void vstore(float *p, vf v) { _mm512_storeu_ps(p, v); }
/// The first n lanes (none for n ≤ 0, all for n ≥ VL).
VIT_V vm vmask_n(int n) { return n >= 16 ? (vm)0xFFFF : n > 0 ? (vm)((1u << n) - 1) : (vm)0; }
VIT_V vf vload_m(vm m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }
VIT_V void vstore_m(float *p, vm m, vf v) { _mm512_mask_storeu_ps(p, m, v); }
VIT_V vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
VIT_V vf vfnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
VIT_V vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
VIT_V vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
VIT_V vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
/// max/min as the SSE instructions: the second operand when either is NaN.
VIT_V vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
VIT_V vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
/// Lanes of m from a, the others from b.
VIT_V vf vselect(vm m, vf a, vf b) { return _mm512_mask_mov_ps(b, m, a); }
/// Lanes of m from a, the others zero.
VIT_V vf vkeep(vm m, vf a) { return _mm512_maskz_mov_ps(m, a); }
VIT_V float vsum(vf v) { return _mm512_reduce_add_ps(v); }
VIT_V float vhmax(vf v) { return _mm512_reduce_max_ps(v); }
VIT_V void vprefetch_l2(const float *p) { _mm_prefetch((const char *)p, _MM_HINT_T1); }

/// x rounded to the nearest integer, ties to even.
VIT_V vf vround(vf x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/// p · 2ⁿ for integral n, one rounding (IEEE overflow, gradual underflow).
VIT_V vf vscale2n(vf p, vf n) { return _mm512_scalef_ps(p, n); }

/// erf, from libmvec (within a few ulp).
VIT_V vf verf(vf x) { return _ZGVeN16v_erff(x); }

#endif
