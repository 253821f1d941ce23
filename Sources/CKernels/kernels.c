// The kernels that need no tier of their own (short, memory-bound loops the compiler vectorizes
// for the CPU at hand: target_clones), and the entry points that hand the hot ones to the running
// tier's table (backend.h).
#include "CKernels.h"
#include "backend.h"

#include <math.h>

#if defined(__x86_64__)
#define VIT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VIT_CLONES
#endif

void vit_depthwise_hwc(const float *restrict x, long ldx, int height, int width, int channels,
                       const float *restrict weight, const float *restrict bias, int kernel, int stride,
                       int act, const float *restrict scale, const float *restrict shift,
                       const float *residual, float *out, int row_begin, int row_end) {
    vit_active_backend()->depthwise(x, ldx, height, width, channels, weight, bias, kernel, stride, act, scale, shift,
                             residual, out, row_begin, row_end);
}

// Scratch for every tier's attention head: keys transposed and padded to 16, up to 4 rows of
// scores, the scaled queries (templates/attention.h).
long vit_attention_head_scratch_count(int t, int key_dim) {
    const long padded = (t + 15) & ~15;
    return (long)key_dim * padded + 4 * padded + (long)t * key_dim;
}

void vit_attention_head(const float *q, long ldq, const float *k, long ldk, const float *v, long ldv,
                        const float *bias, int t, int key_dim, int value_dim, float scale, float *out, long ldo,
                        float *scratch) {
    vit_active_backend()->attention_head(q, ldq, k, ldk, v, ldv, bias, t, key_dim, value_dim, scale, out, ldo, scratch);
}

void vit_layer_norm_rows(const float *x, long ldx, int rows, int cols, const float *gamma, const float *beta,
                         float eps, float *out, long ldo) {
    vit_active_backend()->layer_norm_rows(x, ldx, rows, cols, gamma, beta, eps, out, ldo);
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
            for (int c = 0; c < cols; c++) { float v = row[c] + bias[c]; row[c] = v < 0 ? 0 : v; }  // NaN passes
        } else {
            for (int c = 0; c < cols; c++) row[c] += bias[c];
            if (act == VIT_ACT_GELU) vit_active_backend()->gelu_row(row, cols);
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
                vit_active_backend()->gelu_row(o, channels);
            } else if (act == VIT_ACT_RELU) {
                for (int k = 0; k < channels; k++) o[k] = o[k] < 0 ? 0 : o[k];  // NaN passes
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
        const float inv = 1.0f / vit_active_backend()->exp_row(row, cols, top);
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
}
