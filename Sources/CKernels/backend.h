// The seam between the kernels' callers and the instruction sets: one table of kernel entry
// points per tier, filled at compile time in the tier's own folder (portable/, avx2/, avx512/, neon/),
// and one place (backend.c) that picks the table for this CPU once, at first use. Callers never
// test the CPU themselves: they call through vit_active_backend() and ask it for its tile geometry.
#ifndef VIT_BACKEND_H
#define VIT_BACKEND_H

#include "CKernels.h"

/// The columns of one packed weight panel (vit_pack_weights): shared by every tier, so weights
/// packed at load time serve whichever tier runs.
enum { VIT_PANEL = 32 };

/// The arguments of a GEMM over one packed panel: rows [0, m) of c, its `cols` ≤ VIT_PANEL
/// columns. K is `segments` runs of `run` rows of the panel; segment t reads A at a + offsets[t]
/// (offsets NULL: one segment at offset 0): a plain GEMM is one segment, a convolution over a
/// padded channels-last band one per kernel row. The sum is accumulated in K's order, one
/// multiply-add per term, whatever the tier, so a 1×1 convolution and an im2col GEMM agree.
/// Epilogue: act(sum + bias (+ residual)); bias may be NULL, residual may alias c. `next` (or
/// NULL) is the panel the GEMM reads after this one, which a tier may ask into cache early.
#define VIT_PANEL_ARGS int m, int segments, int run, const long *offsets, const float *a, long lda, \
    const float *panel, const float *bias, int cols, int act, const float *residual, long ldr, float *c, \
    long ldc, const float *next

typedef struct vit_backend {
    /// The tier's name, as VIT_ISA spells it.
    const char *name;
    /// Rows of A the GEMM's tallest tile holds: row blocks cut at multiples of it waste no tile.
    int gemm_rows;
    void (*gemm_panel)(VIT_PANEL_ARGS);
    /// vit_depthwise_hwc.
    void (*depthwise)(const float *x, long ldx, int height, int width, int channels, const float *weight,
                      const float *bias, int kernel, int stride, int act, const float *scale, const float *shift,
                      const float *residual, float *out, int row_begin, int row_end);
    /// vit_attention_head (scratch of vit_attention_head_scratch_count floats).
    void (*attention_head)(const float *q, long ldq, const float *k, long ldk, const float *v, long ldv,
                           const float *bias, int t, int key_dim, int value_dim, float scale, float *out, long ldo,
                           float *scratch);
    /// x[i] = gelu(x[i]); x[i] = exp(x[i] − shift), returning the sum; vit_layer_norm_rows.
    void (*gelu_row)(float *x, int n);
    float (*exp_row)(float *x, int n, float shift);
    void (*layer_norm_rows)(const float *x, long ldx, int rows, int cols, const float *gamma, const float *beta,
                            float eps, float *out, long ldo);
    /// Optional (NULL: the generic path). One row of a planar RGB image to channels-last.
    void (*interleave_rgb)(const float *r, const float *g, const float *b, int n, float *dst);
    /// Optional (NULL: the GEMM path): whether image_conv_rows covers a dense convolution of this
    /// shape (an RGB stem), and that kernel, whose scratch never exceeds vit_conv2d_scratch_count.
    int (*image_conv_covers)(int channels_last, int cin, int kernel, int stride, int pad, int cout);
    void (*image_conv_rows)(const float *x, int height, int width, int cin, const float *packed, const float *bias,
                            int cout, int act, int oy0, int oy1, float *scratch, float *out, long out_row_stride);
} vit_backend;

/// The tables of the tiers (a tier this compiler cannot build for is absent).
extern const vit_backend vit_backend_portable;
#if defined(__x86_64__)
extern const vit_backend vit_backend_avx2;
extern const vit_backend vit_backend_avx512;
#endif
#if defined(__aarch64__)
extern const vit_backend vit_backend_neon;
#endif

/// The table the kernels run on now (chosen at first use; see vit_kernels_set_isa).
const vit_backend *vit_active_backend(void);

#endif
