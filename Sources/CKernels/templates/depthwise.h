// Depthwise convolution for the including tier (its simd.h and templates/math.h before this
// file; TIER_FN its functions' attributes): each output is bias + Σ taps x·w in (ky, kx) order,
// one FMA per tap, then + residual, then the activation (and the affine after it) — the
// arithmetic of every tier. A pixel's block of up to DEPTHWISE_BLOCK vectors of channels stays in
// registers across the taps, and pixels go in pairs where both have every tap in bounds, so each
// tap's weights are loaded once for two pixels. A pixel's residual is read before that pixel is
// written, so the residual may be the output itself (in place). Input pixels are `ldx` floats
// apart (≥ channels: the channels of a wider row, such as the query columns of an attention
// layer's qkv rows); output and residual pixels `channels`.
#ifndef VIT_TEMPLATE_DEPTHWISE_H
#define VIT_TEMPLATE_DEPTHWISE_H

#define DEPTHWISE_BLOCK 4  // at most this many vectors of channels kept in registers per pixel

// Output pixels ox … ox+P−1 of row oy, channels c0 … c0+VL·NB−1 (P and NB constants at each call
// site, so a layer of one vector of channels does not run four of which three are masked off),
// which share the kernel taps kx0 … kx1−1 in bounds.
VIT_V void depthwise_pixels(const int P, const int NB, const int TAIL, const float *restrict x, long ldx, int width, int channels,
                            int c0, const float *restrict weight, const float *restrict bias, int kernel, int stride,
                            int act, const float *restrict scale, const float *restrict shift, const float *residual,
                            float *out, int oy, int ox, int ow, int ky0, int ky1, int kx0, int kx1) {
    const int pad = kernel / 2;
    // Only the block's last vector may be partial (TAIL, a constant at each call site): every
    // other load and store is a plain one, with no mask to apply or test in the loop.
    const vm last = vmask_n(channels - c0 - VL * (NB - 1));
#define LOAD(j, p) (TAIL && (j) == NB - 1 ? vload_m(last, p) : vload(p))
    vf acc[2][DEPTHWISE_BLOCK];
#pragma clang loop unroll(full)
    for (int j = 0; j < NB; j++) {
        const vf b = LOAD(j, bias + c0 + VL * j);
#pragma clang loop unroll(full)
        for (int p = 0; p < P; p++) acc[p][j] = b;
    }
    for (int ky = ky0; ky < ky1; ky++) {
        const int iy = oy * stride - pad + ky;
        for (int kx = kx0; kx < kx1; kx++) {
            const float *wk = weight + (long)(ky * kernel + kx) * channels + c0;
            vf w[DEPTHWISE_BLOCK];
#pragma clang loop unroll(full)
            for (int j = 0; j < NB; j++) w[j] = LOAD(j, wk + VL * j);
#pragma clang loop unroll(full)
            for (int p = 0; p < P; p++) {
                const int ix = (ox + p) * stride - pad + kx;
                const float *xi = x + ((long)iy * width + ix) * ldx + c0;
#pragma clang loop unroll(full)
                for (int j = 0; j < NB; j++) acc[p][j] = vfma(LOAD(j, xi + VL * j), w[j], acc[p][j]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int p = 0; p < P; p++) {
        const long at = ((long)oy * ow + ox + p) * channels + c0;
#pragma clang loop unroll(full)
        for (int j = 0; j < NB; j++) {
            vf v = acc[p][j];
            if (residual) v = vadd(v, LOAD(j, residual + at + VL * j));
            v = vactivate(v, act);
            if (scale) v = vfma(v, LOAD(j, scale + c0 + VL * j), LOAD(j, shift + c0 + VL * j));
            if (TAIL && j == NB - 1) vstore_m(out + at + VL * j, last, v);
            else vstore(out + at + VL * j, v);
        }
    }
#undef LOAD
}

// Output row oy, channels c0 … c0+VL·NB−1: pixels in pairs where both share the taps in bounds.
VIT_V void depthwise_row(const int NB, const int TAIL, const float *restrict x, long ldx, int width, int channels, int c0,
                         const float *restrict weight, const float *restrict bias, int kernel, int stride, int act,
                         const float *restrict scale, const float *restrict shift, const float *residual, float *out,
                         int oy, int ow, int ky0, int ky1) {
    const int pad = kernel / 2;
    for (int ox = 0; ox < ow;) {
        const int kx0 = ox * stride - pad < 0 ? pad - ox * stride : 0;
        const int kx1 = ox * stride - pad + kernel > width ? width - (ox * stride - pad) : kernel;
        // The next pixel shares these taps when neither pixel touches the left or right edge.
        const int next = ox + 1;
        const int pair = next < ow && kx0 == 0 && kx1 == kernel && next * stride - pad + kernel <= width;
        if (pair) {
            depthwise_pixels(2, NB, TAIL, x, ldx, width, channels, c0, weight, bias, kernel, stride, act, scale, shift,
                             residual, out, oy, ox, ow, ky0, ky1, kx0, kx1);
            ox += 2;
        } else {
            depthwise_pixels(1, NB, TAIL, x, ldx, width, channels, c0, weight, bias, kernel, stride, act, scale, shift,
                             residual, out, oy, ox, ow, ky0, ky1, kx0, kx1);
            ox += 1;
        }
    }
}

/// vit_backend.depthwise.
TIER_FN static void depthwise(const float *restrict x, long ldx, int height, int width, int channels,
                              const float *restrict weight, const float *restrict bias, int kernel, int stride, int act,
                              const float *restrict scale, const float *restrict shift, const float *residual, float *out,
                              int row_begin, int row_end) {
    const int pad = kernel / 2;
    const int ow = (width + 2 * pad - kernel) / stride + 1;
    for (int oy = row_begin; oy < row_end; oy++) {
        const int ky0 = oy * stride - pad < 0 ? pad - oy * stride : 0;
        const int ky1 = oy * stride - pad + kernel > height ? height - (oy * stride - pad) : kernel;
        // Each block of channels with as many vectors as it needs (a pixel's residual is read
        // before its output is written within the block, so in place stays safe).
        for (int c0 = 0; c0 < channels; c0 += VL * DEPTHWISE_BLOCK) {
#define ROW(NB, TAIL) depthwise_row(NB, TAIL, x, ldx, width, channels, c0, weight, bias, kernel, stride, act, \
                                    scale, shift, residual, out, oy, ow, ky0, ky1)
            const int left = channels - c0, tail = left < VL * DEPTHWISE_BLOCK && left % VL != 0;
            switch ((left + VL - 1) / VL * 2 + tail) {
            case 2: ROW(1, 0); break;
            case 3: ROW(1, 1); break;
            case 4: ROW(2, 0); break;
            case 5: ROW(2, 1); break;
            case 6: ROW(3, 0); break;
            case 7: ROW(3, 1); break;
            case 9: ROW(4, 1); break;
            default: ROW(DEPTHWISE_BLOCK, 0); break;
            }
#undef ROW
        }
    }
}

#endif
