// The AVX-512 tier (F/BW/DQ/VL; Skylake-X, Zen 4 and later): the shared kernel bodies on 16-float
// vectors with 32 registers, plus what only this tier has: a 256-bit GEMM tile for panels at most
// 8 columns wide, the RGB stem vectorized over output pixels (image_conv.c) and its interleave.
#if defined(__x86_64__)
#include "../backend.h"
#include "../image_conv.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

// Everything below is built for this tier's instruction set (the shared bodies included too).
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))), apply_to = function)

#include "simd.h"
#include "../templates/math.h"

#define TIER_FN
#define GEMM_MR 12  // 12 rows × 2 vectors: 24 accumulators of the 32 registers
#define GEMM_HEIGHTS(X) X(12) X(8) X(4) X(2) X(1)
#include "../templates/gemm_tile.h"

// One R×8 tile for a panel at most 8 columns wide (the last of a 1000-class head: 31·32 + 8):
// 256-bit FMAs, whose throughput per lane on AVX-512 CPUs is at least that of a half-masked
// 512-bit one (twice it on cores that split 512-bit FMAs in two halves, such as Zen 4). Same
// arithmetic and epilogue as gemm_tile, the epilogue on the zero-extended 512-bit vector.
VIT_V void gemm_tile_eighth(const int R, GEMM_TILE_ARGS) {
    (void)next;
    __m256 acc[GEMM_MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < R; i++) acc[i] = _mm256_setzero_ps();
    const float *b = panel;
    for (int t = 0; t < segments; t++) {
        const float *at = offsets ? a + offsets[t] : a;
        for (int p = 0; p < run; p++, b += VIT_PANEL) {
            const __m256 b0 = _mm256_loadu_ps(b);
#pragma clang loop unroll(full)
            for (int i = 0; i < R; i++) acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(at[(long)i * lda + p]), b0, acc[i]);
        }
    }
    const vm mask = vmask_n(cols);
    const vf bj = bias ? vload_m(mask, bias) : vzero();
#pragma clang loop unroll(full)
    for (int i = 0; i < R; i++) {
        vf v = _mm512_zextps256_ps512(acc[i]);
        if (bias) v = vadd(v, bj);
        if (residual) v = vadd(v, vload_m(mask, residual + (long)i * ldr));
        vstore_m(c + (long)i * ldc, mask, vactivate(v, act));
    }
}

#define GEMM_DEFINE_EIGHTH(R) \
    __attribute__((noinline)) static void gemm_tile_##R##_eighth(GEMM_TILE_ARGS) { gemm_tile_eighth(R, GEMM_TILE_PASS); }
#define GEMM_EIGHTH(R) gemm_tile_##R##_eighth,
GEMM_HEIGHTS(GEMM_DEFINE_EIGHTH)
static const gemm_tile_fn gemm_eighth[] = {GEMM_HEIGHTS(GEMM_EIGHTH)};
#define GEMM_NARROWEST(h, width) if ((width) <= 8) return gemm_eighth[h];
#include "../templates/gemm_panel.h"

#include "../templates/depthwise.h"

#define QUERY_BLOCK 4    // queries whose scores and outputs share each loaded key and value
#define KEY_VECTORS 4    // vectors of scores held in registers per query (t ≤ 64)
#define VALUE_VECTORS 4  // vectors of output held in registers per query
#include "../templates/attention.h"

#include "../templates/rows.h"

// dst[3i + ch] = plane ch's [i], for i < n: one row of an RGB image from CHW to HWC, 16 pixels
// (three vectors out) per step, each vector assembled by two two-source permutes.
static void interleave_rgb(const float *r, const float *g, const float *b, int n, float *dst) {
    __m512i first[3], second[3];
    for (int j = 0; j < 3; j++) {
        int i1[16], i2[16];
        for (int l = 0; l < 16; l++) {
            const int p = 16 * j + l, pixel = p / 3, ch = p % 3;
            i1[l] = ch == 1 ? 16 + pixel : pixel;  // red or green (blue lanes filled next)
            i2[l] = ch == 2 ? 16 + pixel : l;      // blue, or the lane as it is
        }
        first[j] = _mm512_loadu_si512(i1);
        second[j] = _mm512_loadu_si512(i2);
    }
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 vr = _mm512_loadu_ps(r + i), vg = _mm512_loadu_ps(g + i), vb = _mm512_loadu_ps(b + i);
        for (int j = 0; j < 3; j++) {
            const __m512 rg = _mm512_permutex2var_ps(vr, first[j], vg);
            _mm512_storeu_ps(dst + 3 * i + 16 * j, _mm512_permutex2var_ps(rg, second[j], vb));
        }
    }
    for (; i < n; i++) { dst[3 * i] = r[i]; dst[3 * i + 1] = g[i]; dst[3 * i + 2] = b[i]; }
}

static int image_conv_covers(int channels_last, int cin, int kernel, int stride, int pad, int cout) {
    return vit_image_conv_applies(channels_last, cin, kernel, stride, pad, cout);
}

void vit_image_conv_rows(const float *x, int height, int width, int cin, const float *packed, const float *bias,
                         int cout, int act, int oy0, int oy1, float *scratch, float *out, long out_row_stride);

#include "../templates/backend_table.h"
const vit_backend vit_backend_avx512 = VIT_TEMPLATE_BACKEND("avx512", interleave_rgb, image_conv_covers, vit_image_conv_rows);

#pragma clang attribute pop
#endif
