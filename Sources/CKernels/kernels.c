#include "CKernels.h"

#include <math.h>

#define VIT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

VIT_CLONES
void vit_depthwise_hwc(const float *restrict x, int height, int width, int channels,
                       const float *restrict weight, const float *restrict bias, int kernel, int stride,
                       int relu, const float *restrict residual, float *restrict out,
                       int row_begin, int row_end) {
    const int pad = kernel / 2;
    const int ow = (width + 2 * pad - kernel) / stride + 1;
    for (int oy = row_begin; oy < row_end; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            float *restrict o = out + ((long)oy * ow + ox) * channels;
            for (int c = 0; c < channels; c++) o[c] = bias[c];
            for (int ky = 0; ky < kernel; ky++) {
                const int iy = oy * stride - pad + ky;
                if (iy < 0 || iy >= height) continue;
                for (int kx = 0; kx < kernel; kx++) {
                    const int ix = ox * stride - pad + kx;
                    if (ix < 0 || ix >= width) continue;
                    const float *restrict xi = x + ((long)iy * width + ix) * channels;
                    const float *restrict wk = weight + (long)(ky * kernel + kx) * channels;
                    for (int c = 0; c < channels; c++) o[c] += xi[c] * wk[c];
                }
            }
            if (relu) {
                for (int c = 0; c < channels; c++) o[c] = o[c] > 0 ? o[c] : 0;
            }
            if (residual) {
                const float *restrict r = residual + ((long)oy * ow + ox) * channels;
                for (int c = 0; c < channels; c++) o[c] += r[c];
            }
        }
    }
}

VIT_CLONES
void vit_bias_activation(float *restrict m, int rows, int cols, int ld, const float *restrict bias, int relu) {
    for (int r = 0; r < rows; r++) {
        float *restrict row = m + (long)r * ld;
        if (relu) {
            for (int c = 0; c < cols; c++) { float v = row[c] + bias[c]; row[c] = v > 0 ? v : 0; }
        } else {
            for (int c = 0; c < cols; c++) row[c] += bias[c];
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

void vit_softmax_rows(float *restrict m, const float *restrict bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *restrict row = m + (long)r * cols;
        const float *restrict b = bias + (long)r * cols;
        float top = -INFINITY;
        for (int j = 0; j < cols; j++) {
            row[j] += b[j];
            top = row[j] > top ? row[j] : top;
        }
        float sum = 0;
        for (int j = 0; j < cols; j++) {
            float e = expf(row[j] - top);
            row[j] = e;
            sum += e;
        }
        const float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
}
