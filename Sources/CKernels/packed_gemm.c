// GEMM for 1×1 and dense convolutions against weights packed once at load time.
//
// C[M×N] = epilogue(A[M×K] · B[K×N]) where B (the layer's weights) was packed by
// vit_pack_weights into panels of 32 columns, each panel K rows of 32 contiguous floats, so the
// running tier's tiles stream one panel while a few rows of A are broadcast against it (its
// gemm_panel, templates/gemm_tile.h). Bias, the residual and the activation (ReLU or GELU) are
// applied when a tile is stored, in that order: act(A·W + bias + residual) (ResNet's ReLU
// follows its add); bias may be NULL (none). This file holds what no tier differs in: packing,
// the walk over panels, and dense convolutions as GEMMs over bands of input rows.
#include "CKernels.h"
#include "backend.h"
#include "image_conv.h"

#include <string.h>

enum { NR = VIT_PANEL };

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

// c[m×n] over the panels of n, each on the running tier. Panels are `panel_stride` floats apart:
// k·32 for a whole packed weight, more when the GEMM uses a range of its rows (a k×k
// convolution's kernel rows ky0…ky1). K is `segments` runs of `run` rows (VIT_PANEL_ARGS).
static void gemm_segments(int m, int n, int segments, int run, const long *offsets, const float *a, long lda,
                          const float *packed, long panel_stride, const float *bias, int act,
                          const float *residual, long ldr, float *c, long ldc) {
    const vit_backend *tier = vit_active_backend();
    for (int n0 = 0; n0 < n; n0 += NR) {
        const float *panel = packed + (long)(n0 / NR) * panel_stride;
        tier->gemm_panel(m, segments, run, offsets, a, lda, panel, bias ? bias + n0 : 0, n - n0 < NR ? n - n0 : NR,
                         act, residual ? residual + n0 : 0, ldr, c + n0, ldc, n0 + NR < n ? panel + panel_stride : 0);
    }
}

void vit_gemm_packed(int m, int n, int k, const float *a, long lda, const float *packed,
                     const float *bias, int act, const float *residual, long ldr, float *c, long ldc) {
    gemm_segments(m, n, 1, k, 0, a, lda, packed, (long)k * NR, bias, act, residual, ldr, c, ldc);
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
        } else if (cin == 3 && vit_active_backend()->interleave_rgb) {
            const long plane = (long)height * width;
            const float *row = x + (long)iy * width;
            vit_active_backend()->interleave_rgb(row, row + plane, row + 2 * plane, width, dst + (long)pad * cin);
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
    const vit_backend *tier = vit_active_backend();
    if (tier->image_conv_rows && tier->image_conv_covers(channels_last, cin, kernel, stride, pad, cout)) {
        tier->image_conv_rows(x, height, width, cin, packed, bias, cout, act, oy0, oy1, scratch, out, out_row_stride);
        return;
    }
    fill_band(x, channels_last, height, width, cin, pad, oy0 * stride - pad, band_rows(oy1 - oy0, kernel, stride),
              scratch);
    vit_conv2d_band_rows(scratch, width, cin, kernel, stride, pad, packed, outer_sum, bias, cout, act, oy0, oy1,
                         scratch + vit_conv2d_band_count(cin, width, kernel, stride, pad, oy1 - oy0), out,
                         out_row_stride);
}
