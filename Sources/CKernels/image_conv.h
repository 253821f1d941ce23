// The stem's first convolution vectorized over output pixels (image_conv.c), which
// vit_conv2d_packed_rows picks for the shapes it covers on AVX-512 CPUs.
#ifndef VIT_IMAGE_CONV_H
#define VIT_IMAGE_CONV_H

/// Whether vit_image_conv_rows covers this layer: a planar input with at most 4 channels, 3×3,
/// stride 2, padding 1, 8 or 24 output channels.
int vit_image_conv_applies(int channels_last, int cin, int kernel, int stride, int pad, int cout);

/// Scratch floats vit_image_conv_rows needs for `out_rows` output rows.
long vit_image_conv_scratch_count(int cin, int width, int cout, int out_rows);

/// Output rows oy0..<oy1 of such a layer, channels-last, row oy0 at `out` and each next row
/// `out_row_stride` floats further; x one CHW image, the weight packed by vit_pack_weights as
/// vit_conv2d_packed_rows takes it. AVX-512 only.
void vit_image_conv_rows(const float *x, int height, int width, int cin, const float *packed, const float *bias,
                         int cout, int act, int oy0, int oy1, float *scratch, float *out, long out_row_stride);

#endif
