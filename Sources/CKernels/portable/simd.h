// The portable tier's vector vocabulary for the shared kernel bodies in templates/: vectors of 4
// floats in the compiler's generic vector types, the width every 64-bit CPU's vector unit has
// (SSE2 on any x86-64, with FMA where target_clones finds it; NEON on ARM). No intrinsics; lane-by-lane
// loops only where a vector is partial. erf is templates/math.h's polynomial (within 1.24 ulp,
// with or without FMA; libm's erff per lane cost four calls a vector). Included once, by
// portable/portable.c.
#ifndef VIT_SIMD_PORTABLE_H
#define VIT_SIMD_PORTABLE_H

#include <math.h>
#include <string.h>

#define VL 4
#define VIT_MASKS_ARE_FREE 0
#define VIT_ERF_POLYNOMIAL 1
typedef float vf __attribute__((vector_size(4 * VL)));
typedef int vi __attribute__((vector_size(4 * VL)));
typedef int vm;  // a mask is the count of leading lanes it keeps
#define VIT_V static inline __attribute__((always_inline))

VIT_V vf vzero(void) { return (vf){0}; }
// Lane by lane: `(vf){0} + x` would cost an add in every hot loop (+0 + −0 is +0, so the
// compiler must keep it).
VIT_V vf vset1(float x) { return (vf){x, x, x, x}; }
_Static_assert(VL == 4, "vset1 lists VL lanes");
VIT_V vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
VIT_V void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
VIT_V vm vmask_n(int n) { return n; }
VIT_V vf vload_m(vm m, const float *p) {
    vf v = (vf){0};
    for (int i = 0; i < VL && i < m; i++) v[i] = p[i];
    return v;
}
VIT_V void vstore_m(float *p, vm m, vf v) {
    for (int i = 0; i < VL && i < m; i++) p[i] = v[i];
}
// a·b + c in one expression: the compiler fuses it where the CPU has FMA (clang's default
// -ffp-contract=on), as the other tiers' FMAs do.
VIT_V vf vfma(vf a, vf b, vf c) { return a * b + c; }
VIT_V vf vfnma(vf a, vf b, vf c) { return c - a * b; }
VIT_V vf vadd(vf a, vf b) { return a + b; }
VIT_V vf vsub(vf a, vf b) { return a - b; }
VIT_V vf vmul(vf a, vf b) { return a * b; }
/// max/min as the SSE instructions: the second operand when either is NaN.
VIT_V vf vmax(vf a, vf b) {
    vf r;
    for (int i = 0; i < VL; i++) r[i] = a[i] > b[i] ? a[i] : b[i];
    return r;
}
VIT_V vf vmin(vf a, vf b) {
    vf r;
    for (int i = 0; i < VL; i++) r[i] = a[i] < b[i] ? a[i] : b[i];
    return r;
}
VIT_V vf vselect(vm m, vf a, vf b) {
    vf r;
    for (int i = 0; i < VL; i++) r[i] = i < m ? a[i] : b[i];
    return r;
}
VIT_V vf vkeep(vm m, vf a) { return vselect(m, a, (vf){0}); }
VIT_V float vsum(vf v) {
    float s = 0;
    for (int i = 0; i < VL; i++) s += v[i];
    return s;
}
VIT_V float vhmax(vf v) {
    float s = v[0];
    for (int i = 1; i < VL; i++) s = v[i] > s ? v[i] : s;
    return s;
}
VIT_V void vprefetch_l2(const float *p) { __builtin_prefetch(p, 0, 2); }

/// x rounded to the nearest integer, ties to even (|x| < 2²² here): adding and taking away 1.5·2²³
/// rounds in the default rounding mode. Two statements, so that nothing fuses them.
VIT_V vf vround(vf x) {
    const vf magic = vset1(12582912.0f);
    vf t = x + magic;
    return t - magic;
}

/// p · 2ⁿ for integral n in [−159, 128] and p in [0.5, 2) (vit_exp's range), as AVX-512's scalef
/// (see avx2/simd.h: two exact halves, one rounding).
VIT_V vf vscale2n(vf p, vf n) {
    for (int i = 0; i < VL; i++) n[i] = n[i] == n[i] ? n[i] : 0;  // NaN has no integer (p is NaN then anyway)
    const vi ni = __builtin_convertvector(n, vi);
    const vi n1 = ni >> 1, n2 = ni - n1;
    const vf s1 = (vf)((n1 + 127) << 23), s2 = (vf)((n2 + 127) << 23);
    return (p * s1) * s2;
}

/// What templates/math.h's erf needs besides: |x|; the magnitude of m with the sign of s; lanes
/// where a < b from x, the others (a NaN among them) from y. Bit operations on the lanes.
VIT_V vf vabs(vf x) { return (vf)((vi)x & 0x7fffffff); }
VIT_V vf vcopysign(vf m, vf s) { return (vf)(((vi)m & 0x7fffffff) | ((vi)s & (int)0x80000000u)); }
VIT_V vf vselect_lt(vf a, vf b, vf x, vf y) {
    const vi lanes = a < b;  // all ones where true
    return (vf)(((vi)x & lanes) | ((vi)y & ~lanes));
}

#endif
