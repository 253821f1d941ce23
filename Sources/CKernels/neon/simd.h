// The NEON tier's vector vocabulary for the shared kernel bodies in templates/: AArch64's Advanced
// SIMD, 4 floats a vector, 32 registers. A mask carries both the lanes it keeps (for selects: one
// bit-select instruction) and their count (partial loads and stores go lane by lane through the
// count and never touch memory past it; NEON has no masked load); the compiler keeps only the
// half a use needs. erf is templates/math.h's polynomial (glibc on AArch64 has no vector erff).
// Included once, by neon/neon.c.
#ifndef VIT_SIMD_NEON_H
#define VIT_SIMD_NEON_H

#include <arm_neon.h>
#include <math.h>

#define VL 4
#define VIT_MASKS_ARE_FREE 0
#define VIT_ERF_POLYNOMIAL 1
typedef float32x4_t vf;
typedef struct { uint32x4_t lanes; int n; } vm;
#define VIT_V static inline __attribute__((always_inline))

VIT_V vf vzero(void) { return vdupq_n_f32(0.0f); }
VIT_V vf vset1(float x) { return vdupq_n_f32(x); }
VIT_V vf vload(const float *p) { return vld1q_f32(p); }
VIT_V void vstore(float *p, vf v) { vst1q_f32(p, v); }
/// The first n lanes (none for n ≤ 0, all for n ≥ VL).
VIT_V vm vmask_n(int n) {
    const int32x4_t lane = {0, 1, 2, 3};
    return (vm){vcltq_s32(lane, vdupq_n_s32(n)), n};
}
/// Masked-off lanes are neither read (no fault past the end of an array) nor written.
VIT_V vf vload_m(vm m, const float *p) {
    if (m.n >= VL) return vld1q_f32(p);
    if (m.n <= 0) return vzero();
    if (m.n == 1) return vld1q_lane_f32(p, vzero(), 0);
    const vf low = vcombine_f32(vld1_f32(p), vdup_n_f32(0.0f));
    return m.n == 2 ? low : vld1q_lane_f32(p + 2, low, 2);
}
VIT_V void vstore_m(float *p, vm m, vf v) {
    if (m.n >= VL) {
        vst1q_f32(p, v);
    } else if (m.n == 1) {
        vst1q_lane_f32(p, v, 0);
    } else if (m.n >= 2) {
        vst1_f32(p, vget_low_f32(v));
        if (m.n == 3) vst1q_lane_f32(p + 2, v, 2);
    }
}
/// a·b + c, and c − a·b, rounded once (FMLA, FMLS).
VIT_V vf vfma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
VIT_V vf vfnma(vf a, vf b, vf c) { return vfmsq_f32(c, a, b); }
VIT_V vf vadd(vf a, vf b) { return vaddq_f32(a, b); }
VIT_V vf vsub(vf a, vf b) { return vsubq_f32(a, b); }
VIT_V vf vmul(vf a, vf b) { return vmulq_f32(a, b); }
/// max/min as the SSE instructions (and the portable tier): the second operand when either is
/// NaN. NEON's FMAX/FMIN would return the NaN, FMAXNM/FMINNM the number: a compare and a select.
VIT_V vf vmax(vf a, vf b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
VIT_V vf vmin(vf a, vf b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
/// Lanes of m from a, the others from b.
VIT_V vf vselect(vm m, vf a, vf b) { return vbslq_f32(m.lanes, a, b); }
/// Lanes of m from a, the others zero.
VIT_V vf vkeep(vm m, vf a) { return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), m.lanes)); }
VIT_V float vsum(vf v) { return vaddvq_f32(v); }
VIT_V float vhmax(vf v) { return vmaxvq_f32(v); }
VIT_V void vprefetch_l2(const float *p) { __builtin_prefetch(p, 0, 2); }  // PRFM PLDL2KEEP

/// x rounded to the nearest integer, ties to even (FRINTN).
VIT_V vf vround(vf x) { return vrndnq_f32(x); }

/// p · 2ⁿ for integral n in [−159, 128] and p in [0.5, 2) (vit_exp's range), as AVX-512's scalef
/// (see avx2/simd.h: two exact halves, one rounding). A NaN n converts to 0 (p is NaN then).
VIT_V vf vscale2n(vf p, vf n) {
    const int32x4_t ni = vcvtnq_s32_f32(n);
    const int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    const int32x4_t bias = vdupq_n_s32(127);
    const vf s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    const vf s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

/// What templates/math.h's erf needs besides: |x|; the magnitude of m with the sign of s; lanes
/// where a < b from x, the others (a NaN among them) from y.
VIT_V vf vabs(vf x) { return vabsq_f32(x); }
VIT_V vf vcopysign(vf m, vf s) { return vbslq_f32(vdupq_n_u32(0x80000000u), s, m); }
VIT_V vf vselect_lt(vf a, vf b, vf x, vf y) { return vbslq_f32(vcltq_f32(a, b), x, y); }

#endif
