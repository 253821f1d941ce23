// GEMM for 1×1 and dense convolutions against weights packed once at load time.
//
// C[M×N] = epilogue(A[M×K] · B[K×N]) where B (the layer's weights) was packed by
// vit_pack_weights into panels of 32 columns, each panel K rows of 32 contiguous floats, so the
// inner loop streams one panel while 12 rows of A are broadcast against it: 24 accumulators of 16
// floats stay in registers. Bias, the activation (ReLU or GELU) and the residual are applied when
// the tile is stored, in that order: act(A·W + bias + residual) (ResNet's ReLU follows its add);
// bias may be NULL (none).
#include "CKernels.h"
#include "image_conv.h"
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

void vit_pack_torch_weights(const float *w, int n, int cin, int kernel, float *packed) {
    const int taps = kernel * kernel, k = taps * cin, panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; p++) {
        for (int r = 0; r < k; r++) {
            // Row r is tap r / cin of input channel r % cin: at (ci·taps + tap) in each output's weights.
            const float *src = w + (long)(r % cin) * taps + r / cin;
            float *dst = packed + ((long)p * k + r) * NR;
            for (int c = 0; c < NR; c++) {
                const int col = p * NR + c;
                dst[c] = col < n ? src[(long)col * k] : 0.0f;
            }
        }
    }
}

// K as segments: a tile's sum runs over `segments` runs of `run` rows of the packed weight;
// segment t reads A at a + offsets[t] (offsets NULL: one segment at offset 0). A plain GEMM is one
// segment of K; a convolution over a padded channels-last band has one segment per kernel row ky
// (its kx and input channels are contiguous in the band). The sum is always accumulated in K's
// order, one FMA per term, so a 1×1 conv and an im2col GEMM give the same bits.
#define TILE_ARGS int segments, int run, const long *offsets, const float *restrict a, long lda, \
    const float *restrict panel, const float *restrict bias, int cols, int act, const float *residual, \
    long ldr, float *c, long ldc, const float *next

// One R×(16·NV) tile with AVX-512: R and NV are constants at every call site, so the loops
// unroll and the 2·R accumulators live in registers. `next` (or NULL): the weight panel the GEMM
// reads after this one, asked into L2 line by line as this panel streams, so that few-row
// GEMMs (batch 1's 7×7 and 4×4 stages), which read each weight for only 16–49 rows, do not wait
// on L3 at every panel. Columns beyond `cols` (< 16·NV at the end of
// a layer whose width is not a multiple of 16) are neither read from bias/residual nor stored.
// `residual` may alias `c` (in place).
__attribute__((target("avx512f"), always_inline))
static inline void tile_avx512(const int R, const int NV, TILE_ARGS) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < R; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    const float *b = panel;
    for (int t = 0; t < segments; t++) {
        const float *at = offsets ? a + offsets[t] : a;
        for (int p = 0; p < run; p++, b += NR) {
            if (next) {
                _mm_prefetch((const char *)(next + (b - panel)), _MM_HINT_T1);
                _mm_prefetch((const char *)(next + (b - panel) + 16), _MM_HINT_T1);
            }
            const __m512 b0 = _mm512_loadu_ps(b);
            const __m512 b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
            for (int i = 0; i < R; i++) {
                const __m512 ai = _mm512_set1_ps(at[(long)i * lda + p]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                if (NV > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    }
    const __mmask16 masks[2] = {
        cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1),
        cols >= 32 ? (__mmask16)0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : (__mmask16)0,
    };
#pragma clang loop unroll(full)
    for (int j = 0; j < NV; j++) {
        const __m512 bj = bias ? _mm512_maskz_loadu_ps(masks[j], bias + 16 * j) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
        for (int i = 0; i < R; i++) {
            __m512 v = bias ? _mm512_add_ps(acc[i][j], bj) : acc[i][j];
            if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(masks[j], residual + (long)i * ldr + 16 * j));
            if (act == VIT_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
            if (act == VIT_ACT_GELU) v = vit_gelu16(v);
            _mm512_mask_storeu_ps(c + (long)i * ldc + 16 * j, masks[j], v);
        }
    }
}

#define DEFINE_TILE(R, NV) \
    __attribute__((target("avx512f"), noinline)) \
    static void tile_##R##x##NV(TILE_ARGS) { \
        tile_avx512(R, NV, segments, run, offsets, a, lda, panel, bias, cols, act, residual, ldr, c, ldc, next); \
    }
DEFINE_TILE(12, 2) DEFINE_TILE(8, 2) DEFINE_TILE(4, 2) DEFINE_TILE(2, 2) DEFINE_TILE(1, 2)
DEFINE_TILE(12, 1) DEFINE_TILE(8, 1) DEFINE_TILE(4, 1) DEFINE_TILE(2, 1) DEFINE_TILE(1, 1)

// One R×8 tile for a panel at most 8 columns wide (the last of a 1000-class head: 31·32 + 8): 256-bit
// FMAs, whose throughput per lane on AVX-512 CPUs is at least that of a half-masked 512-bit one
// (twice it on cores that split 512-bit FMAs in two halves, such as Zen 4). Same arithmetic and
// epilogue as tile_avx512, the epilogue on the zero-extended 512-bit vector.
__attribute__((target("avx512f,avx512vl"), always_inline))
static inline void tile_avx512_8(const int R, TILE_ARGS) {
    __m256 acc[MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < R; i++) acc[i] = _mm256_setzero_ps();
    const float *b = panel;
    for (int t = 0; t < segments; t++) {
        const float *at = offsets ? a + offsets[t] : a;
        for (int p = 0; p < run; p++, b += NR) {
            const __m256 b0 = _mm256_loadu_ps(b);
#pragma clang loop unroll(full)
            for (int i = 0; i < R; i++) acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(at[(long)i * lda + p]), b0, acc[i]);
        }
    }
    const __mmask16 mask = (__mmask16)((1u << cols) - 1);
    const __m512 bj = bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();
#pragma clang loop unroll(full)
    for (int i = 0; i < R; i++) {
        __m512 v = _mm512_zextps256_ps512(acc[i]);
        if (bias) v = _mm512_add_ps(v, bj);
        if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, residual + (long)i * ldr));
        if (act == VIT_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
        if (act == VIT_ACT_GELU) v = vit_gelu16(v);
        _mm512_mask_storeu_ps(c + (long)i * ldc, mask, v);
    }
}

#define DEFINE_TILE8(R) \
    __attribute__((target("avx512f,avx512vl"), noinline)) \
    static void tile_##R##x8(TILE_ARGS) { \
        tile_avx512_8(R, segments, run, offsets, a, lda, panel, bias, cols, act, residual, ldr, c, ldc, next); \
    }
DEFINE_TILE8(12) DEFINE_TILE8(8) DEFINE_TILE8(4) DEFINE_TILE8(2) DEFINE_TILE8(1)

typedef void (*tile_fn)(TILE_ARGS);

// Any CPU: the same arithmetic, one output at a time (bias, then the residual, then the activation).
static void tile_portable(int rows, TILE_ARGS) {
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            float sum = 0;
            const float *b = panel + j;
            for (int t = 0; t < segments; t++) {
                const float *at = (offsets ? a + offsets[t] : a) + (long)i * lda;
                for (int p = 0; p < run; p++, b += NR) sum += at[p] * *b;
            }
            float v = bias ? sum + bias[j] : sum;
            if (residual) v += residual[(long)i * ldr + j];
            v = vit_activate(v, act);
            c[(long)i * ldc + j] = v;
        }
    }
}

// c[m×n] over the panels of n: rows in tiles of 12, then 8, 4, 2, 1.
// Panels are `panel_stride` floats apart: k·32 for a whole packed weight, more when the GEMM uses
// a range of its rows (a k×k convolution's kernel rows ky0…ky1).
static void gemm_segments(int m, int n, int segments, int run, const long *offsets, const float *a, long lda,
                          const float *packed, long panel_stride, const float *bias, int act,
                          const float *residual, long ldr, float *c, long ldc) {
    static const int heights[] = {12, 8, 4, 2, 1};
    static const tile_fn wide[] = {tile_12x2, tile_8x2, tile_4x2, tile_2x2, tile_1x2};
    static const tile_fn narrow[] = {tile_12x1, tile_8x1, tile_4x1, tile_2x1, tile_1x1};
    static const tile_fn eighth[] = {tile_12x8, tile_8x8, tile_4x8, tile_2x8, tile_1x8};
    const int vector = vit_kernels_use_avx512();
    for (int n0 = 0; n0 < n; n0 += NR) {
        const float *panel = packed + (long)(n0 / NR) * panel_stride;
        const int cols = n - n0 < NR ? n - n0 : NR;
        // The first row tile of a panel asks for the next panel (rows after it find it in L2).
        const float *next = n0 + NR < n ? panel + panel_stride : 0;
        int m0 = 0;
        for (int h = 0; h < 5; h++) {
            for (; m - m0 >= heights[h]; m0 += heights[h]) {
                const float *res = residual ? residual + (long)m0 * ldr + n0 : 0;
                const float *arow = a + (long)m0 * lda;
                float *crow = c + (long)m0 * ldc + n0;
                if (!vector) {
                    tile_portable(heights[h], segments, run, offsets, arow, lda, panel, bias ? bias + n0 : 0, cols, act,
                                  res, ldr, crow, ldc, 0);
                } else {
                    (cols > 16 ? wide : cols > 8 ? narrow : eighth)[h](
                        segments, run, offsets, arow, lda, panel, bias ? bias + n0 : 0, cols, act, res, ldr, crow, ldc,
                        m0 == 0 ? next : 0);
                }
            }
        }
    }
}

void vit_gemm_packed(int m, int n, int k, const float *a, long lda, const float *packed,
                     const float *bias, int act, const float *residual, long ldr, float *c, long ldc) {
    gemm_segments(m, n, 1, k, 0, a, lda, packed, (long)k * NR, bias, act, residual, ldr, c, ldc);
}

// dst[3i + ch] = plane ch's [i], for i < n: one row of an RGB image from CHW to HWC, 16 pixels
// (three vectors out) per step, each vector assembled by two two-source permutes.
__attribute__((target("avx512f")))
static void interleave_rgb_avx512(const float *r, const float *g, const float *b, int n, float *dst) {
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

// The input rows a block of output rows reads, as a zero-padded channels-last band: rows of
// (width + 2·pad)·cin floats, so that every kernel tap of every output pixel is in bounds and an
// output row is a GEMM whose A rows are `stride · cin` floats apart.
static void fill_band(const float *x, int channels_last, int height, int width, int cin, int pad,
                      int first_row, int rows, float *band) {
    const long padded = (long)(width + 2 * pad) * cin;
    for (int r = 0; r < rows; r++) {
        const int iy = first_row + r;
        float *dst = band + r * padded;
        if (iy < 0 || iy >= height) {
            memset(dst, 0, sizeof(float) * padded);
            continue;
        }
        memset(dst, 0, sizeof(float) * pad * cin);
        if (channels_last) {
            memcpy(dst + (long)pad * cin, x + (long)iy * width * cin, sizeof(float) * width * cin);
        } else if (cin == 3 && vit_kernels_use_avx512()) {
            const long plane = (long)height * width;
            const float *row = x + (long)iy * width;
            interleave_rgb_avx512(row, row + plane, row + 2 * plane, width, dst + (long)pad * cin);
        } else {
            const long plane = (long)height * width;
            for (int ix = 0; ix < width; ix++) {
                for (int ch = 0; ch < cin; ch++) dst[(long)(pad + ix) * cin + ch] = x[ch * plane + (long)iy * width + ix];
            }
        }
        memset(dst + (long)(pad + width) * cin, 0, sizeof(float) * pad * cin);
    }
}

static int band_rows(int out_rows, int kernel, int stride) { return (out_rows - 1) * stride + kernel; }

long vit_conv2d_band_count(int cin, int width, int kernel, int stride, int pad, int out_rows) {
    return (long)band_rows(out_rows, kernel, stride) * (width + 2 * pad) * cin;
}

// Row pairs pay from 16 input channels on (micro-benchmark: 1.08–1.17× for 16–96 channels,
// 1.0× for 8, 0.9× for RGB, where the three short GEMMs' epilogues outweigh the saved FMAs).
int vit_conv2d_uses_row_pairs(int cin, int kernel, int stride) { return kernel == 3 && stride == 2 && cin >= 16; }

long vit_conv2d_band_scratch_count(int cin, int width, int kernel, int stride, int pad, int cout) {
    if (!vit_conv2d_uses_row_pairs(cin, kernel, stride)) return 0;
    const long ow = (width + 2 * pad - kernel) / stride + 1;
    return (long)(width + 2 * pad) * cin + ow * cout;  // the difference row and the shared product
}

long vit_conv2d_scratch_count(int cin, int width, int kernel, int stride, int pad, int cout, int out_rows) {
    const long band = vit_conv2d_band_count(cin, width, kernel, stride, pad, out_rows);
    if (vit_image_conv_applies(0, cin, kernel, stride, pad, cout)) {
        const long phases = vit_image_conv_scratch_count(cin, width, cout, out_rows);
        return phases > band ? phases : band;
    }
    return band + vit_conv2d_band_scratch_count(cin, width, kernel, stride, pad, cout);
}

void vit_pack_outer_rows_sum(const float *packed, int cin, int cout, float *out) {
    const long row = 3L * cin;  // one kernel row: kx and cin
    for (int p = 0; p < (cout + NR - 1) / NR; p++) {
        const float *panel = packed + (long)p * 3 * row * NR;
        for (long i = 0; i < row * NR; i++) out[(long)p * row * NR + i] = panel[i] + panel[2 * row * NR + i];
    }
}

// d = a − b over n floats.
static void subtract_rows(const float *a, const float *b, long n, float *d) {
    for (long i = 0; i < n; i++) d[i] = a[i] - b[i];
}

// Output rows oy0..<oy1 of a 3×3 stride-2 convolution by pairs of output rows. Rows 2q and 2q+1
// read input rows r0…r2 and r2…r4 (r0 = input row 4q − pad), so with the kernel rows W0, W1, W2
//   y(2q)   = W0·r0 + W1·r1 + W2·r2 = (W0 + W2)·r2 + [W0 W1]·[r0 − r2, r1]
//   y(2q+1) = W0·r2 + W1·r3 + W2·r4 = (W0 + W2)·r2 + [W1 W2]·[r3, r4 − r2]
// and the pair shares the product with r2: 15 multiply-adds per input and output channel and
// output pixel pair instead of 18. [W0 W1] and [W1 W2] are row ranges of the packed weight; W0 + W2
// is `outer_sum` (vit_pack_outer_rows_sum). Each output row always takes its own formula (an even
// row never its odd partner's), so the bits do not depend on how rows are cut into blocks.
static void conv3x3s2_row_pairs(int ow, int cin, int oy0, int oy1, long padded, const float *band,
                                const float *packed, const float *outer_sum, const float *bias, int cout,
                                int act, float *diff, float *shared, float *out, long out_row_stride) {
    const long row = 3L * cin, full = 9L * cin * NR, lda = 2L * cin;
    for (int oy = oy0; oy < oy1;) {
        // The band row of this pair's r2: an even row's third input row, an odd row's first.
        const float *r2 = band + ((long)(oy - oy0) * 2 + (oy % 2 == 0 ? 2 : 0)) * padded;
        gemm_segments(ow, cout, 1, (int)row, 0, r2, lda, outer_sum, row * NR, bias, VIT_ACT_IDENTITY, 0, 0,
                      shared, cout);
        if (oy % 2 == 0) {
            const float *r0 = r2 - 2 * padded;
            subtract_rows(r0, r2, padded, diff);
            // [r0 − r2, r1]: two segments read from `diff`, the second at r1's offset from it.
            const long pair[2] = {0, (r0 + padded) - diff};
            gemm_segments(ow, cout, 2, (int)row, pair, diff, lda, packed, full, 0, act, shared, cout,
                          out + (long)(oy - oy0) * out_row_stride, cout);
            oy++;
            if (oy == oy1) break;
        }
        subtract_rows(r2 + 2 * padded, r2, padded, diff);
        const long pair[2] = {(r2 + padded) - diff, 0};  // [r3, r4 − r2]
        gemm_segments(ow, cout, 2, (int)row, pair, diff, lda, packed + row * NR, full, 0, act, shared, cout,
                      out + (long)(oy - oy0) * out_row_stride, cout);
        oy++;
    }
}

void vit_conv2d_band_rows(const float *band, int width, int cin, int kernel, int stride, int pad,
                          const float *packed, const float *outer_sum, const float *bias, int cout, int act,
                          int oy0, int oy1, float *scratch, float *out, long out_row_stride) {
    if (oy1 <= oy0) return;
    const int ow = (width + 2 * pad - kernel) / stride + 1;
    const long padded = (long)(width + 2 * pad) * cin;
    if (outer_sum && vit_conv2d_uses_row_pairs(cin, kernel, stride)) {
        conv3x3s2_row_pairs(ow, cin, oy0, oy1, padded, band, packed, outer_sum, bias, cout, act, scratch,
                            scratch + padded, out, out_row_stride);
        return;
    }
    long offsets[kernel];
    for (int ky = 0; ky < kernel; ky++) offsets[ky] = ky * padded;
    const long k = (long)kernel * kernel * cin;
    for (int oy = oy0; oy < oy1; oy++) {
        gemm_segments(ow, cout, kernel, kernel * cin, offsets, band + (long)(oy - oy0) * stride * padded,
                      (long)stride * cin, packed, k * NR, bias, act, 0, 0, out + (long)(oy - oy0) * out_row_stride, cout);
    }
}

void vit_conv2d_packed_rows(const float *x, int channels_last, int height, int width, int cin, int kernel,
                            int stride, int pad, const float *packed, const float *outer_sum, const float *bias,
                            int cout, int act, int oy0, int oy1, float *scratch, float *out, long out_row_stride) {
    if (oy1 <= oy0) return;
    if (vit_image_conv_applies(channels_last, cin, kernel, stride, pad, cout) && vit_kernels_use_avx512()) {
        vit_image_conv_rows(x, height, width, cin, packed, bias, cout, act, oy0, oy1, scratch, out, out_row_stride);
        return;
    }
    fill_band(x, channels_last, height, width, cin, pad, oy0 * stride - pad, band_rows(oy1 - oy0, kernel, stride),
              scratch);
    vit_conv2d_band_rows(scratch, width, cin, kernel, stride, pad, packed, outer_sum, bias, cout, act, oy0, oy1,
                         scratch + vit_conv2d_band_count(cin, width, kernel, stride, pad, oy1 - oy0), out,
                         out_row_stride);
}
