// A network's first convolution, 3×3 stride 2 padding 1 from a planar (CHW) image with at most 4
// channels (RGB) to a channels-last output with a multiple of 8 channels: EfficientViT's,
// EfficientFormerV2's and XCiT's stems.
//
// As a GEMM over output channels (gemm_segments) each output pixel is a K = 27 dot product for
// only 8–24 outputs: tiles too short to pay for their fixed costs (~60 GFLOP/s on this shape).
// Here a vector holds 16 neighbouring output pixels of one output channel. Every tap (ky, kx, ci)
// of those pixels reads the 16 input samples x[2·ox + kx − 1] of one row, which the band stores
// contiguously as "phase rows" (even and odd samples of each input row and channel), so a tap is
// one load and 8 FMAs against its 8 weights broadcast from the packed panel. A tile is up to 3
// such vectors × 8 output channels in 24 accumulators; shuffles turn them into channels-last
// pixel pairs when the tile is stored.
//
// The sum runs over the taps in the packed weight's (ky, kx, ci) order from zero, one FMA per
// term, then + bias, then the activation: the bits of the GEMM path, whatever the rows' block.
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

enum { NR = VIT_PANEL, VECTORS = 3 };  // packed panel width; 16-pixel vectors per tile (at most)

// The phase rows of one input row: the even samples x[2·ox] (kx = 1) at `phase`, then 16 floats
// whose last is zero, then the odd samples x[2·ox + 1] (kx = 2), zero outside the image (row NULL:
// all zero). kx = 0's samples x[2·ox − 1] are the odd ones one place later, so its taps read the
// odd row from the zero before it (phase_tap): one permute per input sample instead of three.
static void fill_phase_rows(const float *row, int width, int ow, float *phase) {
    const long length = phase_length(ow);
    if (!row) {
        memset(phase, 0, sizeof(float) * phase_stride(ow));
        return;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    float *odd_row = phase + length + 16;
    _mm512_storeu_ps(odd_row - 16, _mm512_setzero_ps());
    for (long u = 0; u < length / 16; u++) {
        // a = x[32u … 32u + 15], b = x[32u + 16 … 32u + 31], zero right of the image.
        const long s = 32 * u;
        const __m512 a = s + 16 <= width ? _mm512_loadu_ps(row + s)
                                         : _mm512_maskz_loadu_ps(s < width ? (__mmask16)((1u << (width - s)) - 1) : 0, row + s);
        const long t = s + 16;
        const __m512 b = t + 16 <= width ? _mm512_loadu_ps(row + t)
                                         : _mm512_maskz_loadu_ps(t < width ? (__mmask16)((1u << (width - t)) - 1) : 0, row + t);
        _mm512_storeu_ps(phase + 16 * u, _mm512_permutex2var_ps(a, even, b));
        _mm512_storeu_ps(odd_row + 16 * u, _mm512_permutex2var_ps(a, odd, b));
    }
}

// Where tap kx of an input row's phase rows starts (fill_phase_rows).
static const float *phase_tap(const float *phase, int kx, long length) {
    return kx == 1 ? phase : phase + length + 16 - (kx == 0);
}

// Asks for image rows first … first+count−1 (clipped to the image) of every channel into L2,
// ahead of their use. The stem reads the caller's image once, from memory (9.6 MB at batch 16
// and 224×224), and a band's rows otherwise arrive only when the band is filled, a stall as long
// as the band's FMAs (M0 at batch 16: this layer 2.0 → 1.7 ms). Asked for two rows at a time as
// the band's output rows compute: all at once, the prefetches themselves stalled on the misses
// in flight. (The same in the GEMM path, RGB into 16 or 32 channels, showed no gain.)
static void prefetch_image_rows(const float *x, int height, int width, int cin, int first, int count) {
    for (int iy = first < 0 ? 0 : first; iy < first + count && iy < height; iy++) {
        for (int ci = 0; ci < cin; ci++) {
            const char *row = (const char *)(x + ((long)ci * height + iy) * width);
            for (long b = 0; b < (long)sizeof(float) * width; b += 64) _mm_prefetch(row + b, _MM_HINT_T1);
        }
    }
}

typedef struct { __m512i stage1[2], stage2[2]; } transpose_indices;

// Accumulator q of an octet holds [channel 2q, pixels 0…7 | channel 2q + 1, pixels 0…7]. Stage 1
// merges accumulators (0, 1) and (2, 3), each into two vectors of 4 channels × 4 pixels: lane l
// of half h is channel l / 4 of the four, pixel 4h + l % 4. Stage 2 merges the two halves h of
// channels 0–3 and 4–7 into output pixel pairs [pixel 2m, channels 0…7 | pixel 2m + 1, channels
// 0…7], m = 2h and 2h + 1. The indices do not depend on which four channels are merged.
static transpose_indices make_transpose_indices(void) {
    transpose_indices t;
    int index[16];
    for (int h = 0; h < 2; h++) {
        for (int l = 0; l < 16; l++) {
            const int c = l / 4, pixel = 4 * h + l % 4;  // c: accumulator 2·pair + c / 2, its half c % 2
            index[l] = (c / 2) * 16 + (c % 2) * 8 + pixel;
        }
        t.stage1[h] = _mm512_loadu_si512(index);
    }
    for (int odd = 0; odd < 2; odd++) {  // m = 2h + odd: pixels 2·odd and 2·odd + 1 of half h
        for (int l = 0; l < 16; l++) {
            const int c = l % 8, pixel = 2 * odd + l / 8;
            index[l] = (c / 4) * 16 + (c % 4) * 4 + pixel;
        }
        t.stage2[odd] = _mm512_loadu_si512(index);
    }
    return t;
}

// One octet's accumulators (bias and activation applied) stored channels-last: pixel p at out +
// p·ldo, the `valid` first pixels.
__attribute__((always_inline))
static inline void store_octet(const __m512 acc[4], const transpose_indices *t, int valid, float *out, long ldo) {
    __m512 merged[2][2];
    for (int pair = 0; pair < 2; pair++) {
        for (int h = 0; h < 2; h++) {
            merged[pair][h] = _mm512_permutex2var_ps(acc[2 * pair], t->stage1[h], acc[2 * pair + 1]);
        }
    }
    if (valid == 8 && ldo == 8) {  // the octet is 64 contiguous floats
        for (int m = 0; m < 4; m++) {
            _mm512_storeu_ps(out + 16 * m, _mm512_permutex2var_ps(merged[0][m / 2], t->stage2[m % 2], merged[1][m / 2]));
        }
        return;
    }
    for (int m = 0; m < 4 && 2 * m < valid; m++) {
        const int p = 2 * m;
        const __m512 pixels = _mm512_permutex2var_ps(merged[0][m / 2], t->stage2[m % 2], merged[1][m / 2]);
        _mm256_storeu_ps(out + p * ldo, _mm512_castps512_ps256(pixels));
        if (p + 1 < valid) _mm256_storeu_ps(out + (p + 1) * ldo, _mm512_extractf32x8_ps(pixels, 1));
    }
}

// Output channels 8g…8g+7 of the P 16-pixel vectors from ox0 of one output row: acc[c][p] holds
// channel c of pixels ox0 + 16p …, so a tap is P loads of its phase row and 8·P FMAs against the
// tap's 8 weights broadcast from the packed panel (w: its row 0 at the group's 8 columns), with no
// shuffle in the loop. taps[k] is the phase row of tap k in the weight's (ky, kx, ci) order. P
// and ACT are constants at each call site, so the accumulators stay in registers to the store.
__attribute__((always_inline))
static inline void tile(const int P, const int ACT, int taps_count, const float *const *taps, int ox0,
                        const float *w, const float *bias, const transpose_indices *t, int ow, float *out, long ldo) {
    __m512 acc[8][VECTORS];
#pragma clang loop unroll(full)
    for (int c = 0; c < 8; c++) {
        for (int p = 0; p < P; p++) acc[c][p] = _mm512_setzero_ps();
    }
    for (int k = 0; k < taps_count; k++, w += NR) {
        __m512 x[VECTORS];
        for (int p = 0; p < P; p++) x[p] = _mm512_loadu_ps(taps[k] + ox0 + 16 * p);
#pragma clang loop unroll(full)
        for (int c = 0; c < 8; c++) {
            const __m512 wc = _mm512_set1_ps(w[c]);
            for (int p = 0; p < P; p++) acc[c][p] = _mm512_fmadd_ps(x[p], wc, acc[c][p]);
        }
    }
#pragma clang loop unroll(full)
    for (int p = 0; p < P; p++) {
        for (int c = 0; c < 8; c++) {
            __m512 v = bias ? _mm512_add_ps(acc[c][p], _mm512_set1_ps(bias[c])) : acc[c][p];  // as the GEMM path
            if (ACT == VIT_ACT_RELU) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // NaN passes, as vactivate
            if (ACT == VIT_ACT_GELU) v = vgelu(v);
            acc[c][p] = v;
        }
        // Channel pairs' halves side by side, [c: pixels 0…7 | c + 1: pixels 0…7] and the same
        // for pixels 8…15: the octets store_octet takes.
        __m512 octet[2][4];
        for (int q = 0; q < 4; q++) {
            octet[0][q] = _mm512_shuffle_f32x4(acc[2 * q][p], acc[2 * q + 1][p], 0x44);
            octet[1][q] = _mm512_shuffle_f32x4(acc[2 * q][p], acc[2 * q + 1][p], 0xEE);
        }
        for (int h = 0; h < 2; h++) {
            const int first = ox0 + 16 * p + 8 * h;
            if (first < ow) store_octet(octet[h], t, ow - first < 8 ? ow - first : 8, out + first * ldo, ldo);
        }
    }
}

#define TILE_ARGS int taps_count, const float *const *taps, int ox0, const float *w, const float *bias, \
    const transpose_indices *t, int ow, float *out, long ldo
#define DEFINE_TILES(NAME, ACT) \
    __attribute__((noinline)) \
    static void NAME(int vectors, TILE_ARGS) { \
        switch (vectors) { \
        case 3: tile(3, ACT, taps_count, taps, ox0, w, bias, t, ow, out, ldo); break; \
        case 2: tile(2, ACT, taps_count, taps, ox0, w, bias, t, ow, out, ldo); break; \
        default: tile(1, ACT, taps_count, taps, ox0, w, bias, t, ow, out, ldo); break; \
        } \
    }
DEFINE_TILES(tiles_identity, VIT_ACT_IDENTITY) DEFINE_TILES(tiles_relu, VIT_ACT_RELU)
DEFINE_TILES(tiles_gelu, VIT_ACT_GELU)

void vit_image_conv_rows(const float *x, int height, int width, int cin, const float *packed, const float *bias,
                         int cout, int act, int oy0, int oy1, float *scratch, float *out, long out_row_stride) {
    const int ow = (width - 1) / 2 + 1, taps_count = 9 * cin, groups = cout / 8;
    const long length = phase_length(ow), panel_stride = (long)taps_count * NR;
    float *band = scratch;
    // Band row r (input row 2·oy0 − 1 + r), channel ci: phase rows at band + (r·cin + ci)·stride.
    const long stride = phase_stride(ow);
    const int rows = 2 * (oy1 - oy0 - 1) + 3;
    for (int r = 0; r < rows; r++) {
        const int iy = 2 * oy0 - 1 + r;
        for (int ci = 0; ci < cin; ci++) {
            const float *row = iy >= 0 && iy < height ? x + ((long)ci * height + iy) * width : 0;
            fill_phase_rows(row, width, ow, band + ((long)r * cin + ci) * stride);
        }
    }
    const transpose_indices indices = make_transpose_indices();
    void (*const tiles)(int, TILE_ARGS) =
        act == VIT_ACT_RELU ? tiles_relu : act == VIT_ACT_GELU ? tiles_gelu : tiles_identity;
    const float *taps[36];
    const int vectors = (ow + 15) / 16;
    for (int oy = oy0; oy < oy1; oy++) {
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) {
                for (int ci = 0; ci < cin; ci++) {
                    const long r = 2L * (oy - oy0) + ky;
                    taps[(ky * 3 + kx) * cin + ci] = phase_tap(band + (r * cin + ci) * stride, kx, length);
                }
            }
        }
        prefetch_image_rows(x, height, width, cin, 2 * oy1 + 2 * (oy - oy0), 2);  // the next block's
        float *out_row = out + (long)(oy - oy0) * out_row_stride;
        for (int g = 0; g < groups; g++) {
            const float *w = packed + (g / 4) * panel_stride + 8 * (g % 4);
            for (int v0 = 0; v0 < vectors;) {
                // Tiles of 3 vectors (24 accumulators), the rest as evenly as they go: 7 = 3 + 2 + 2.
                const int left = vectors - v0, n = left == 4 ? 2 : left < VECTORS ? left : VECTORS;
                tiles(n, taps_count, taps, 16 * v0, w, bias ? bias + 8 * g : 0, &indices, ow, out_row + 8 * g, cout);
                v0 += n;
            }
        }
    }
}

#pragma clang attribute pop
#endif
