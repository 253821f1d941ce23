// The stem's first convolution vectorized over output pixels (avx512/image_conv.c), which
// vit_conv2d_packed_rows picks for the shapes it covers when the running tier has it.
#ifndef VIT_IMAGE_CONV_H
#define VIT_IMAGE_CONV_H

/// Whether vit_image_conv_rows covers this layer: a planar input with at most 4 channels, 3×3,
/// stride 2, padding 1, 8 or 24 output channels. (16 or 32 outputs fill the GEMM's 512-bit tiles,
/// which then beat this kernel: 93 against 79 GFLOP/s for RGB → 16 channels; with 8 or 24 its
/// last tile is a 256-bit one.)
static inline int vit_image_conv_applies(int channels_last, int cin, int kernel, int stride, int pad, int cout) {
    return !channels_last && cin <= 4 && kernel == 3 && stride == 2 && pad == 1 && (cout == 8 || cout == 24);
}

/// Floats of one output row's worth of 16-pixel vectors.
static inline long phase_length(int ow) { return (ow + 15) / 16 * 16; }

/// Floats of one input row's phase rows (fill_phase_rows): even samples, 16 with a zero, odd samples.
static inline long phase_stride(int ow) { return 2 * phase_length(ow) + 16; }

/// Scratch floats vit_image_conv_rows needs for `out_rows` output rows.
static inline long vit_image_conv_scratch_count(int cin, int width, int cout, int out_rows) {
    (void)cout;
    const int ow = (width - 1) / 2 + 1;
    const long rows = 2L * (out_rows - 1) + 3;
    return rows * cin * phase_stride(ow);
}

/// Output rows oy0..<oy1 of such a layer, channels-last, row oy0 at `out` and each next row
/// `out_row_stride` floats further; x one CHW image, the weight packed by vit_pack_weights as
/// vit_conv2d_packed_rows takes it. AVX-512 only
/// (vit_backend.image_conv_rows of that tier).
void vit_image_conv_rows(const float *x, int height, int width, int cin, const float *packed, const float *bias,
                         int cout, int act, int oy0, int oy1, float *scratch, float *out, long out_row_stride);

#endif
