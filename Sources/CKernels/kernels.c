#include "CKernels.h"
#include "vector_math.h"

#include <immintrin.h>
#include <math.h>

#define VIT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// Depthwise convolution: each output is bias + Σ taps x·w in (ky, kx) order, one FMA per tap,
// then + residual, then the activation (and the affine after it). The portable loop and the
// AVX-512 one do the same arithmetic; the latter keeps a pixel's block of up to 64 channels in
// registers across the taps instead of updating the output in memory once per tap. Both read a
// pixel's residual before writing that pixel, so the residual may be the output itself (in
// place). Input pixels are `ldx` floats apart (≥ channels: the channels of a wider row, such as
// the query columns of an attention layer's qkv rows); output and residual pixels `channels`.
VIT_CLONES
static void depthwise_portable(const float *restrict x, long ldx, int height, int width, int channels,
                               const float *restrict weight, const float *restrict bias, int kernel, int stride,
                               int act, const float *restrict scale, const float *restrict shift,
                               const float *residual, float *out, int row_begin, int row_end) {
    enum { BLOCK = 64 };
    const int pad = kernel / 2;
    const int ow = (width + 2 * pad - kernel) / stride + 1;
    for (int oy = row_begin; oy < row_end; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            const long at = ((long)oy * ow + ox) * channels;
            for (int c0 = 0; c0 < channels; c0 += BLOCK) {
                const int cn = channels - c0 < BLOCK ? channels - c0 : BLOCK;
                float acc[BLOCK];
                for (int c = 0; c < cn; c++) acc[c] = bias[c0 + c];
                for (int ky = 0; ky < kernel; ky++) {
                    const int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= height) continue;
                    for (int kx = 0; kx < kernel; kx++) {
                        const int ix = ox * stride - pad + kx;
                        if (ix < 0 || ix >= width) continue;
                        const float *restrict xi = x + ((long)iy * width + ix) * ldx + c0;
                        const float *restrict wk = weight + (long)(ky * kernel + kx) * channels + c0;
                        for (int c = 0; c < cn; c++) acc[c] += xi[c] * wk[c];
                    }
                }
                if (residual) {
                    for (int c = 0; c < cn; c++) acc[c] += residual[at + c0 + c];
                }
                for (int c = 0; c < cn; c++) acc[c] = vit_activate(acc[c], act);
                if (scale) {
                    for (int c = 0; c < cn; c++) acc[c] = acc[c] * scale[c0 + c] + shift[c0 + c];
                }
                for (int c = 0; c < cn; c++) out[at + c0 + c] = acc[c];
            }
        }
    }
}

#define DEPTHWISE_BLOCK 4  // at most this many vectors of 16 channels kept in registers per pixel

// Output pixels ox … ox+P−1 of row oy, channels c0 … c0+16·NB−1 (P and NB constants at each call
// site: NB is the number of 16-channel vectors the block needs, so a 16-channel layer does not
// run four vectors of which three are masked off), which share the kernel taps kx0 … kx1−1 in
// bounds: each tap's weights are loaded once for the P pixels.
__attribute__((target("avx512f"), always_inline))
static inline void depthwise_pixels(const int P, const int NB, const float *restrict x, long ldx, int width,
                                    int channels, int c0, const float *restrict weight, const float *restrict bias,
                                    int kernel, int stride, int act, const float *restrict scale,
                                    const float *restrict shift, const float *residual, float *out,
                                    int oy, int ox, int ow, int ky0, int ky1, int kx0, int kx1) {
    const int pad = kernel / 2;
    __mmask16 mask[DEPTHWISE_BLOCK];
    __m512 acc[2][DEPTHWISE_BLOCK];
#pragma clang loop unroll(full)
    for (int j = 0; j < NB; j++) {
        const int left = channels - c0 - 16 * j;
        mask[j] = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
        const __m512 b = _mm512_maskz_loadu_ps(mask[j], bias + c0 + 16 * j);
#pragma clang loop unroll(full)
        for (int p = 0; p < P; p++) acc[p][j] = b;
    }
    for (int ky = ky0; ky < ky1; ky++) {
        const int iy = oy * stride - pad + ky;
        for (int kx = kx0; kx < kx1; kx++) {
            const float *wk = weight + (long)(ky * kernel + kx) * channels + c0;
            __m512 w[DEPTHWISE_BLOCK];
#pragma clang loop unroll(full)
            for (int j = 0; j < NB; j++) w[j] = _mm512_maskz_loadu_ps(mask[j], wk + 16 * j);
#pragma clang loop unroll(full)
            for (int p = 0; p < P; p++) {
                const int ix = (ox + p) * stride - pad + kx;
                const float *xi = x + ((long)iy * width + ix) * ldx + c0;
#pragma clang loop unroll(full)
                for (int j = 0; j < NB; j++) {
                    acc[p][j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[j], xi + 16 * j), w[j], acc[p][j]);
                }
            }
        }
    }
#pragma clang loop unroll(full)
    for (int p = 0; p < P; p++) {
        const long at = ((long)oy * ow + ox + p) * channels + c0;
#pragma clang loop unroll(full)
        for (int j = 0; j < NB; j++) {
            __m512 v = acc[p][j];
            if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask[j], residual + at + 16 * j));
            if (act == VIT_ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
            if (act == VIT_ACT_GELU) v = vit_gelu16(v);
            if (scale) {
                v = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(mask[j], scale + c0 + 16 * j),
                                    _mm512_maskz_loadu_ps(mask[j], shift + c0 + 16 * j));
            }
            _mm512_mask_storeu_ps(out + at + 16 * j, mask[j], v);
        }
    }
}

// Output row oy, channels c0 … c0+16·NB−1: pixels in pairs where both share the taps in bounds.
__attribute__((target("avx512f"), always_inline))
static inline void depthwise_row(const int NB, const float *restrict x, long ldx, int width, int channels, int c0,
                                 const float *restrict weight, const float *restrict bias, int kernel, int stride,
                                 int act, const float *restrict scale, const float *restrict shift,
                                 const float *residual, float *out, int oy, int ow, int ky0, int ky1) {
    const int pad = kernel / 2;
    for (int ox = 0; ox < ow;) {
        const int kx0 = ox * stride - pad < 0 ? pad - ox * stride : 0;
        const int kx1 = ox * stride - pad + kernel > width ? width - (ox * stride - pad) : kernel;
        // The next pixel shares these taps when neither pixel touches the left or right edge.
        const int next = ox + 1;
        const int pair = next < ow && kx0 == 0 && kx1 == kernel && next * stride - pad + kernel <= width;
        if (pair) {
            depthwise_pixels(2, NB, x, ldx, width, channels, c0, weight, bias, kernel, stride, act, scale, shift,
                             residual, out, oy, ox, ow, ky0, ky1, kx0, kx1);
            ox += 2;
        } else {
            depthwise_pixels(1, NB, x, ldx, width, channels, c0, weight, bias, kernel, stride, act, scale, shift,
                             residual, out, oy, ox, ow, ky0, ky1, kx0, kx1);
            ox += 1;
        }
    }
}

__attribute__((target("avx512f")))
static void depthwise_avx512(const float *restrict x, long ldx, int height, int width, int channels,
                             const float *restrict weight, const float *restrict bias, int kernel, int stride,
                             int act, const float *restrict scale, const float *restrict shift,
                             const float *residual, float *out,
                             int row_begin, int row_end) {
    const int pad = kernel / 2;
    const int ow = (width + 2 * pad - kernel) / stride + 1;
    for (int oy = row_begin; oy < row_end; oy++) {
        const int ky0 = oy * stride - pad < 0 ? pad - oy * stride : 0;
        const int ky1 = oy * stride - pad + kernel > height ? height - (oy * stride - pad) : kernel;
        // Each block of channels with as many vectors as it needs (a pixel's residual is read
        // before its output is written within the block, so in place stays safe).
        for (int c0 = 0; c0 < channels; c0 += 16 * DEPTHWISE_BLOCK) {
#define ROW(NB) depthwise_row(NB, x, ldx, width, channels, c0, weight, bias, kernel, stride, act, scale, shift, \
                              residual, out, oy, ow, ky0, ky1)
            switch ((channels - c0 + 15) / 16) {
            case 1: ROW(1); break;
            case 2: ROW(2); break;
            case 3: ROW(3); break;
            default: ROW(DEPTHWISE_BLOCK); break;
            }
#undef ROW
        }
    }
}

void vit_depthwise_hwc(const float *restrict x, long ldx, int height, int width, int channels,
                       const float *restrict weight, const float *restrict bias, int kernel, int stride,
                       int act, const float *restrict scale, const float *restrict shift,
                       const float *residual, float *out, int row_begin, int row_end) {
    (vit_kernels_use_avx512() ? depthwise_avx512 : depthwise_portable)(
        x, ldx, height, width, channels, weight, bias, kernel, stride, act, scale, shift, residual, out,
        row_begin, row_end);
}

VIT_CLONES
void vit_max_pool_hwc(const float *restrict x, int height, int width, int channels, int kernel, int stride,
                      int pad, float *restrict out, int row_begin, int row_end) {
    const int ow = (width + 2 * pad - kernel) / stride + 1;
    for (int oy = row_begin; oy < row_end; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            float *restrict o = out + ((long)oy * ow + ox) * channels;
            for (int c = 0; c < channels; c++) o[c] = -INFINITY;
            for (int ky = 0; ky < kernel; ky++) {
                const int iy = oy * stride - pad + ky;
                if (iy < 0 || iy >= height) continue;
                for (int kx = 0; kx < kernel; kx++) {
                    const int ix = ox * stride - pad + kx;
                    if (ix < 0 || ix >= width) continue;
                    const float *restrict xi = x + ((long)iy * width + ix) * channels;
                    for (int c = 0; c < channels; c++) o[c] = xi[c] > o[c] ? xi[c] : o[c];
                }
            }
        }
    }
}

VIT_CLONES
void vit_bias_activation(float *restrict m, int rows, int cols, int ld, const float *restrict bias, int act) {
    for (int r = 0; r < rows; r++) {
        float *restrict row = m + (long)r * ld;
        if (act == VIT_ACT_RELU) {
            for (int c = 0; c < cols; c++) { float v = row[c] + bias[c]; row[c] = v > 0 ? v : 0; }
        } else {
            for (int c = 0; c < cols; c++) row[c] += bias[c];
            if (act == VIT_ACT_GELU) vit_gelu_row(row, cols);
        }
    }
}

// Source index and weight of the second tap along one axis, as ATen's upsample_bilinear2d
// computes them for a scale of 1/2: the weights are 0, 1/4 or 3/4, exact in float.
static inline void bilinear_tap(int o, int size, int *i0, int *i1, float *l1) {
    float src = 0.5f * ((float)o + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < size - 1 ? 1 : 0);
    *l1 = src - (float)*i0;
}

VIT_CLONES
void vit_upsample2x_bilinear_hwc(const float *restrict x, int height, int width, int channels, int act,
                                 float *restrict out, int row_begin, int row_end) {
    const int ow = 2 * width;
    for (int oy = row_begin; oy < row_end; oy++) {
        int y0, y1;
        float ly1;
        bilinear_tap(oy, height, &y0, &y1, &ly1);
        const float ly0 = 1.0f - ly1;
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            float lx1;
            bilinear_tap(ox, width, &x0, &x1, &lx1);
            const float lx0 = 1.0f - lx1;
            const float *restrict a = x + ((long)y0 * width + x0) * channels;
            const float *restrict b = x + ((long)y0 * width + x1) * channels;
            const float *restrict c = x + ((long)y1 * width + x0) * channels;
            const float *restrict d = x + ((long)y1 * width + x1) * channels;
            float *restrict o = out + ((long)oy * ow + ox) * channels;
            for (int k = 0; k < channels; k++) o[k] = ly0 * (lx0 * a[k] + lx1 * b[k]) + ly1 * (lx0 * c[k] + lx1 * d[k]);
            if (act == VIT_ACT_GELU) {
                vit_gelu_row(o, channels);
            } else if (act == VIT_ACT_RELU) {
                for (int k = 0; k < channels; k++) o[k] = o[k] > 0 ? o[k] : 0;
            }
        }
    }
}

VIT_CLONES
void vit_mix_heads(const float *restrict x, int heads, long count, long stride, const float *restrict weight,
                   const float *restrict bias, float *restrict out) {
    for (int g = 0; g < heads; g++) {
        float *restrict o = out + g * stride;
        for (long i = 0; i < count; i++) o[i] = bias[g];
        for (int h = 0; h < heads; h++) {
            const float w = weight[g * heads + h];
            const float *restrict xh = x + h * stride;
            for (long i = 0; i < count; i++) o[i] += w * xh[i];
        }
    }
}

VIT_CLONES
void vit_transpose_add(const float *restrict x, int rows, int cols, const float *residual, float *out) {
    enum { BLOCK = 16 };  // 16×16 blocks: both the rows read and the rows written stay in L1
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
        const int r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows;
        for (int c0 = 0; c0 < cols; c0 += BLOCK) {
            const int c1 = c0 + BLOCK < cols ? c0 + BLOCK : cols;
            for (int c = c0; c < c1; c++) {
                float *o = out + (long)c * rows;
                const float *res = residual ? residual + (long)c * rows : 0;
                for (int r = r0; r < r1; r++) o[r] = x[(long)r * cols + c] + (res ? res[r] : 0.0f);
            }
        }
    }
}

VIT_CLONES
void vit_column_mean(const float *restrict m, int rows, int cols, float *restrict out) {
    for (int c = 0; c < cols; c++) out[c] = 0;
    for (int r = 0; r < rows; r++) {
        const float *restrict row = m + (long)r * cols;
        for (int c = 0; c < cols; c++) out[c] += row[c];
    }
    const float inv = 1.0f / (float)rows;
    for (int c = 0; c < cols; c++) out[c] *= inv;
}

VIT_CLONES
void vit_scale_columns(const float *x, int rows, int cols, const float *restrict scale, float *out) {
    for (long i = 0; i < (long)rows * cols; i += cols) {
        for (int c = 0; c < cols; c++) out[i + c] = x[i + c] * scale[c];
    }
}

VIT_CLONES
void vit_softmax_rows(float *restrict m, const float *restrict bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *restrict row = m + (long)r * cols;
        if (bias) {
            const float *restrict b = bias + (long)r * cols;
            for (int j = 0; j < cols; j++) row[j] += b[j];
        }
        float top = -INFINITY;
        for (int j = 0; j < cols; j++) top = row[j] > top ? row[j] : top;
        const float inv = 1.0f / vit_exp_row(row, cols, top);
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
}

// Sum of n floats in 16 interleaved partial sums (lane j adds elements j, j + 16, …), so the
// loop vectorizes without -ffast-math; the order is fixed, so results are reproducible.
static inline float lane_sum(const float *restrict x, int n, float shift, int squares) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        for (int j = 0; j < 16; j++) {
            const float d = x[i + j] - shift;
            acc[j] += squares ? d * d : d;
        }
    }
    for (int j = 0; i + j < n; j++) {
        const float d = x[i + j] - shift;
        acc[j] += squares ? d * d : d;
    }
    float total = 0;
    for (int j = 0; j < 16; j++) total += acc[j];
    return total;
}

VIT_CLONES
void vit_layer_norm_rows(const float *x, long ldx, int rows, int cols, const float *restrict gamma,
                         const float *restrict beta, float eps, float *out, long ldo) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * ldx;
        float *o = out + (long)r * ldo;
        // Two passes (mean, then the centred sum of squares): as exact as Welford in float for
        // rows this short.
        const float mean = lane_sum(xr, cols, 0.0f, 0) / (float)cols;
        const float rstd = 1.0f / sqrtf(lane_sum(xr, cols, mean, 1) / (float)cols + eps);
        for (int c = 0; c < cols; c++) o[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
    }
}
