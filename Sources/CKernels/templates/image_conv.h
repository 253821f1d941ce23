// A network's first convolution, 3×3 stride 2 padding 1 from a planar (CHW) image with at most 4
// channels (RGB) to a channels-last output of 1–4 vectors of channels (at most one weight
// panel), for the including tier (its simd.h and templates/math.h before this file; TIER_FN its
// functions' attributes). EfficientViT's, EfficientFormerV2's and XCiT's stems.
//
// As a GEMM (gemm_panel over an interleaved band) each output pixel is a K = 27 dot product for
// only 8–32 outputs: short tiles whose fixed costs dominate, and the RGB interleave on top. Here a
// tile is P output pixels × NV vectors of output channels: each tap loads its NV weight vectors
// once for the P pixels and broadcasts each pixel's input sample straight from a zero-padded copy
// of its planar input row (no interleave). The sum runs over the taps in the packed weight's
// (ky, kx, ci) order from zero, one FMA per term, then + bias, then the activation: the bits of
// the GEMM path, whatever the rows' block.
#ifndef VIT_TEMPLATE_IMAGE_CONV_H
#define VIT_TEMPLATE_IMAGE_CONV_H

/// vit_backend.image_conv_covers.
static int image_conv_covers(int channels_last, int cin, int kernel, int stride, int pad, int cout) {
    return !channels_last && cin <= 4 && kernel == 3 && stride == 2 && pad == 1 && cout % VL == 0 && cout <= 4 * VL;
}

// Output pixels ox … ox+P−1 of one output row: taps[k] is tap k's padded input row, already
// shifted by its kx, so pixel ox reads taps[k][2·ox].
VIT_V void image_conv_pixels(const int P, const int NV, int taps_count, const float *const *taps, int ox,
                             const float *packed, const float *bias, int act, float *out, int cout) {
    vf acc[12][4];
#pragma clang loop unroll(full)
    for (int p = 0; p < P; p++)
#pragma clang loop unroll(full)
        for (int j = 0; j < NV; j++) acc[p][j] = vzero();
    for (int k = 0; k < taps_count; k++) {
        vf w[4];
#pragma clang loop unroll(full)
        for (int j = 0; j < NV; j++) w[j] = vload(packed + (long)k * VIT_PANEL + VL * j);
        const float *row = taps[k] + 2 * ox;
#pragma clang loop unroll(full)
        for (int p = 0; p < P; p++) {
            const vf x = vset1(row[2 * p]);
#pragma clang loop unroll(full)
            for (int j = 0; j < NV; j++) acc[p][j] = vfma(x, w[j], acc[p][j]);
        }
    }
#pragma clang loop unroll(full)
    for (int j = 0; j < NV; j++) {
        const vf b = bias ? vload(bias + VL * j) : vzero();
#pragma clang loop unroll(full)
        for (int p = 0; p < P; p++) {
            const vf v = bias ? vadd(acc[p][j], b) : acc[p][j];  // as the GEMM path
            vstore(out + (long)(ox + p) * cout + VL * j, vactivate(v, act));
        }
    }
}

// One output row, NV vectors of channels: pixels in tiles of P (12 accumulators), then one by one.
VIT_V void image_conv_row(const int NV, int taps_count, const float *const *taps, int ow, const float *packed,
                          const float *bias, int act, float *out, int cout) {
    const int P = NV == 1 ? 12 : NV == 2 ? 6 : NV == 3 ? 4 : 3;
    int ox = 0;
    for (; ox + P <= ow; ox += P) image_conv_pixels(P, NV, taps_count, taps, ox, packed, bias, act, out, cout);
    for (; ox < ow; ox++) image_conv_pixels(1, NV, taps_count, taps, ox, packed, bias, act, out, cout);
}

/// vit_backend.image_conv_rows: output rows oy0..<oy1, row oy0 at `out` and each next row
/// `out_row_stride` floats further; scratch holds the padded rows, vit_conv2d_band_count floats.
TIER_FN static void image_conv_rows(const float *x, int height, int width, int cin, const float *packed,
                                    const float *bias, int cout, int act, int oy0, int oy1, float *scratch, float *out,
                                    long out_row_stride) {
    const int ow = (width - 1) / 2 + 1, padded = width + 2, rows = 2 * (oy1 - oy0 - 1) + 3;
    // Padded row r (input row 2·oy0 − 1 + r) of channel ci at scratch + (r·cin + ci)·padded:
    // [0, x[0 … width), 0], all zero outside the image.
    for (int r = 0; r < rows; r++) {
        const int iy = 2 * oy0 - 1 + r;
        for (int ci = 0; ci < cin; ci++) {
            float *dst = scratch + ((long)r * cin + ci) * padded;
            if (iy < 0 || iy >= height) {
                memset(dst, 0, sizeof(float) * padded);
                continue;
            }
            dst[0] = 0;
            memcpy(dst + 1, x + ((long)ci * height + iy) * width, sizeof(float) * width);
            dst[width + 1] = 0;
        }
    }
    const int taps_count = 9 * cin;
    const float *taps[36];
    for (int oy = oy0; oy < oy1; oy++) {
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
                for (int ci = 0; ci < cin; ci++)
                    taps[(ky * 3 + kx) * cin + ci] = scratch + ((2L * (oy - oy0) + ky) * cin + ci) * padded + kx;
        float *row = out + (long)(oy - oy0) * out_row_stride;
        switch (cout / VL) {
        case 1: image_conv_row(1, taps_count, taps, ow, packed, bias, act, row, cout); break;
        case 2: image_conv_row(2, taps_count, taps, ow, packed, bias, act, row, cout); break;
        case 3: image_conv_row(3, taps_count, taps, ow, packed, bias, act, row, cout); break;
        default: image_conv_row(4, taps_count, taps, ow, packed, bias, act, row, cout); break;
        }
    }
}

#endif
