// GEMM for 1×1 convolutions against weights packed once at load time.
//
// C[M×N] = epilogue(A[M×K] · B[K×N]) where B (the layer's weights) was packed by
// vit_pack_weights into panels of 32 columns, each panel K rows of 32 contiguous floats, so the
// inner loop streams one panel while 12 rows of A are broadcast against it: 24 accumulators of 16
// floats stay in registers. Bias, the activation (ReLU or GELU) and the residual are applied when
// the tile is stored, in that order: act(A·W + bias + residual) (ResNet's ReLU follows its add).
#include "CKernels.h"
#include "vector_math.h"

#include <immintrin.h>
#include <string.h>

enum { NR = 32, MR = 12 };

long vit_packed_weights_count(int k, int n) { return (long)k * ((n + NR - 1) / NR) * NR; }

void vit_pack_weights(const float *w, int k, int n, float *packed) {
    const int panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; p++) {
        for (int r = 0; r < k; r++) {
            float *dst = packed + ((long)p * k + r) * NR;
            for (int c = 0; c < NR; c++) {
                const int col = p * NR + c;
                dst[c] = col < n ? w[(long)r * n + col] : 0.0f;
            }
        }
    }
}

// One R×(16·NV) tile with AVX-512: R and NV are constants at every call site, so the loops
// unroll and the 2·R accumulators live in registers. `residual` may alias `c` (in place).
#define TILE_ARGS int k, const float *restrict a, long lda, const float *restrict panel, \
    const float *restrict bias, int act, const float *residual, long ldr, float *c, long ldc

__attribute__((target("avx512f"), always_inline))
static inline void tile_avx512(const int R, const int NV, TILE_ARGS) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < R; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    for (int p = 0; p < k; p++) {
        const __m512 b0 = _mm512_loadu_ps(panel + (long)p * NR);
        const __m512 b1 = NV > 1 ? _mm512_loadu_ps(panel + (long)p * NR + 16) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
        for (int i = 0; i < R; i++) {
            const __m512 ai = _mm512_set1_ps(a[(long)i * lda + p]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
#pragma clang loop unroll(full)
    for (int j = 0; j < NV; j++) {
        const __m512 b = _mm512_loadu_ps(bias + 16 * j);
#pragma clang loop unroll(full)
        for (int i = 0; i < R; i++) {
            __m512 v = _mm512_add_ps(acc[i][j], b);
            if (residual) v = _mm512_add_ps(v, _mm512_loadu_ps(residual + (long)i * ldr + 16 * j));
            if (act == VIT_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
            if (act == VIT_ACT_GELU) v = vit_gelu16(v);
            _mm512_storeu_ps(c + (long)i * ldc + 16 * j, v);
        }
    }
}

#define DEFINE_TILE(R, NV) \
    __attribute__((target("avx512f"), noinline)) \
    static void tile_##R##x##NV(TILE_ARGS) { tile_avx512(R, NV, k, a, lda, panel, bias, act, residual, ldr, c, ldc); }
DEFINE_TILE(12, 2) DEFINE_TILE(8, 2) DEFINE_TILE(4, 2) DEFINE_TILE(2, 2) DEFINE_TILE(1, 2)
DEFINE_TILE(12, 1) DEFINE_TILE(8, 1) DEFINE_TILE(4, 1) DEFINE_TILE(2, 1) DEFINE_TILE(1, 1)

typedef void (*tile_fn)(TILE_ARGS);

// Any CPU: the same arithmetic, one output at a time (bias, then the residual, then the activation).
static void tile_portable(int rows, int cols, TILE_ARGS) {
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            float sum = 0;
            for (int p = 0; p < k; p++) sum += a[(long)i * lda + p] * panel[(long)p * NR + j];
            float v = sum + bias[j];
            if (residual) v += residual[(long)i * ldr + j];
            v = vit_activate(v, act);
            c[(long)i * ldc + j] = v;
        }
    }
}

static _Atomic int portable_only = 0;

void vit_gemm_use_portable(int on) { portable_only = on; }

static int has_avx512(void) { return vit_cpu_has_avx512() && !portable_only; }

void vit_gemm_packed(int m, int n, int k, const float *a, long lda, const float *packed,
                     const float *bias, int act, const float *residual, long ldr, float *c, long ldc) {
    static const int heights[] = {12, 8, 4, 2, 1};
    static const tile_fn wide[] = {tile_12x2, tile_8x2, tile_4x2, tile_2x2, tile_1x2};
    static const tile_fn narrow[] = {tile_12x1, tile_8x1, tile_4x1, tile_2x1, tile_1x1};
    const int vector = has_avx512();
    for (int n0 = 0; n0 < n; n0 += NR) {
        const float *panel = packed + (long)(n0 / NR) * k * NR;
        const int cols = n - n0 < NR ? n - n0 : NR;
        int m0 = 0;
        for (int h = 0; h < 5; h++) {
            for (; m - m0 >= heights[h]; m0 += heights[h]) {
                const float *res = residual ? residual + (long)m0 * ldr + n0 : 0;
                const float *arow = a + (long)m0 * lda;
                float *crow = c + (long)m0 * ldc + n0;
                if (!vector) {
                    tile_portable(heights[h], cols, k, arow, lda, panel, bias + n0, act, res, ldr, crow, ldc);
                } else {
                    (cols == NR ? wide : narrow)[h](k, arow, lda, panel, bias + n0, act, res, ldr, crow, ldc);
                }
            }
        }
    }
}
