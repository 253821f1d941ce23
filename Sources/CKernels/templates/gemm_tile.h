// The packed GEMM's tiles, for the including tier (its simd.h and
// templates/math.h before this file). The tier defines GEMM_HEIGHTS(X), the row counts of its
// tiles tallest first (X(R) for each), GEMM_MR, the tallest, and TIER_FN, the attributes of its
// functions.
//
// A tile is R rows × GEMM_NV vectors of columns: R·GEMM_NV accumulators stay in registers while
// the tile's columns of the panel stream past (one load per vector and K step) and each A element
// is broadcast once. A panel (VIT_PANEL = 32 columns) is one tile wide on AVX-512 (2 × 16), two
// on 8-float tiers (2 × 8) and four on 4-float ones (portable, NEON: 2 × 4), side by side for
// each row tile, so its A rows stay in L1.
// Epilogue, in this order: + bias, + residual, activation; columns beyond `cols` are neither
// read from bias/residual nor stored. `residual` may alias `c` (in place).
#ifndef VIT_TEMPLATE_GEMM_TILE_H
#define VIT_TEMPLATE_GEMM_TILE_H

#define GEMM_NV 2
#define GEMM_TILE_COLS (GEMM_NV * VL)

#define GEMM_TILE_ARGS int segments, int run, const long *offsets, const float *restrict a, long lda, \
    const float *restrict panel, const float *restrict bias, int cols, int act, const float *residual, \
    long ldr, float *c, long ldc, const float *next
#define GEMM_TILE_PASS segments, run, offsets, a, lda, panel, bias, cols, act, residual, ldr, c, ldc, next

// The K loop into R·NV accumulators. PREFETCH is a constant at each call: the loop is written
// once for tiles that stream the next panel and once for those that do not, rather than testing
// `next` at every K step (the unswitching clang does only at -O3, which a package may not ask for).
VIT_V void gemm_accumulate(const int R, const int NV, const int PREFETCH, vf acc[GEMM_MR][GEMM_NV], int segments,
                           int run, const long *offsets, const float *restrict a, long lda,
                           const float *restrict panel, const float *next) {
    const float *b = panel;
    for (int t = 0; t < segments; t++) {
        const float *at = offsets ? a + offsets[t] : a;
        for (int p = 0; p < run; p++, b += VIT_PANEL) {
            // The next panel into L2, line by line as this one streams: few-row GEMMs (batch 1's
            // 7×7 and 4×4 stages) read each weight for only 16–49 rows and would otherwise wait
            // on L3 at every panel.
            if (PREFETCH) {
                for (int l = 0; l < NV * VL; l += 16) vprefetch_l2(next + (b - panel) + l);
            }
            vf bv[GEMM_NV];
#pragma clang loop unroll(full)
            for (int j = 0; j < NV; j++) bv[j] = vload(b + VL * j);
#pragma clang loop unroll(full)
            for (int i = 0; i < R; i++) {
                const vf ai = vset1(at[(long)i * lda + p]);
#pragma clang loop unroll(full)
                for (int j = 0; j < NV; j++) acc[i][j] = vfma(ai, bv[j], acc[i][j]);
            }
        }
    }
}

VIT_V void gemm_tile(const int R, const int NV, GEMM_TILE_ARGS) {
    vf acc[GEMM_MR][GEMM_NV];
#pragma clang loop unroll(full)
    for (int i = 0; i < R; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < NV; j++) acc[i][j] = vzero();
    if (next) gemm_accumulate(R, NV, 1, acc, segments, run, offsets, a, lda, panel, next);
    else gemm_accumulate(R, NV, 0, acc, segments, run, offsets, a, lda, panel, next);
#pragma clang loop unroll(full)
    for (int j = 0; j < NV; j++) {
        const int full = cols >= VL * (j + 1);
        const vm mask = vmask_n(cols - VL * j);
        const vf bj = bias ? vload_n(bias + VL * j, mask, full) : vzero();
#pragma clang loop unroll(full)
        for (int i = 0; i < R; i++) {
            vf v = bias ? vadd(acc[i][j], bj) : acc[i][j];
            if (residual) v = vadd(v, vload_n(residual + (long)i * ldr + VL * j, mask, full));
            vstore_n(c + (long)i * ldc + VL * j, mask, full, vactivate(v, act));
        }
    }
}

typedef void (*gemm_tile_fn)(GEMM_TILE_ARGS);

// Each tile its own function (the accumulators of one shape, not a switch over shapes).
#ifndef TIER_TILE_FN
#define TIER_TILE_FN TIER_FN __attribute__((noinline))
#endif
#define GEMM_DEFINE_TILES(R) \
    TIER_TILE_FN static void gemm_tile_##R##_2(GEMM_TILE_ARGS) { gemm_tile(R, 2, GEMM_TILE_PASS); } \
    TIER_TILE_FN static void gemm_tile_##R##_1(GEMM_TILE_ARGS) { gemm_tile(R, 1, GEMM_TILE_PASS); }
#define GEMM_HEIGHT(R) R,
#define GEMM_WIDE(R) gemm_tile_##R##_2,
#define GEMM_NARROW(R) gemm_tile_##R##_1,

GEMM_HEIGHTS(GEMM_DEFINE_TILES)
static const int gemm_heights[] = {GEMM_HEIGHTS(GEMM_HEIGHT)};
static const gemm_tile_fn gemm_wide[] = {GEMM_HEIGHTS(GEMM_WIDE)};
static const gemm_tile_fn gemm_narrow[] = {GEMM_HEIGHTS(GEMM_NARROW)};
enum { GEMM_HEIGHT_COUNT = sizeof gemm_heights / sizeof gemm_heights[0] };

#endif
