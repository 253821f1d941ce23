#ifndef VIT_KERNELS_H
#define VIT_KERNELS_H

// Inner loops of the engine that want the CPU's widest vectors. Each hot kernel exists in one
// tier per instruction set (portable/, avx2/, avx512/, neon/ beside this folder), and every call
// goes through the table of the tier chosen once, at first use (backend.c): the best this CPU
// runs, unless the environment variable VIT_ISA (portable, avx2, avx512, neon) or
// vit_kernels_set_isa asks for a lower one. One binary runs on every x86-64, another on every
// AArch64 CPU.
// Images are channels-last (HWC): C floats per pixel, pixels row-major; token sequences are
// rows of C floats.

/// Instruction-set tiers of the kernels, lowest first among those of one architecture (x86-64:
/// portable, avx2, avx512; AArch64: portable, neon; a number never changes meaning). The portable
/// tier is plain C with vector types the compiler maps to the CPU's registers; the others are
/// written for AVX2 + FMA (16 registers of 8 floats), AVX-512 F/BW/DQ/VL (32 registers of 16
/// floats) and AArch64's NEON (32 registers of 4 floats).
enum { VIT_ISA_PORTABLE = 0, VIT_ISA_AVX2 = 1, VIT_ISA_AVX512 = 2, VIT_ISA_NEON = 3, VIT_ISA_COUNT = 4 };

/// What vit_isa_from_environment returns for no VIT_ISA, and for a value that names no tier.
enum { VIT_ISA_UNSET = -1, VIT_ISA_UNKNOWN = -2 };

/// A tier's name as VIT_ISA spells it ("portable", "avx2", "avx512", "neon"; "unknown" out of range).
const char *vit_isa_name(int isa);

/// Whether this CPU (and this build) can run the tier.
int vit_isa_supported(int isa);

/// The best tier this CPU runs.
int vit_isa_best(void);

/// The tier VIT_ISA names, VIT_ISA_UNSET or VIT_ISA_UNKNOWN. A named tier the CPU cannot run is
/// returned as it is (the kernels then run the best tier; the engine reports the mismatch).
int vit_isa_from_environment(void);

/// The tier the kernels run now.
int vit_kernels_isa(void);

/// Makes every kernel run on `isa` from now on; returns 0 (and changes nothing) when the CPU
/// cannot run it. Not to be called while kernels run on other threads.
int vit_kernels_set_isa(int isa);

/// Rows of the running tier's tallest GEMM tile: GEMM row blocks that start on multiples of it
/// end in no short tile.
int vit_gemm_row_tile(void);

/// The tallest GEMM row tile of any tier: what a row block may grow by when rounded to tiles,
/// whichever tier runs the plan that sized it.
int vit_gemm_max_row_tile(void);

/// Columns of a packed weight panel (vit_pack_weights), the same for every tier: a GEMM's column
/// blocks start on multiples of it.
int vit_gemm_panel_width(void);

/// Whether this CPU has AVX-512 F/BW/DQ/VL (Skylake-X and later; checked once), whatever tier runs.
int vit_cpu_has_avx512(void);

/// Activation applied in kernel epilogues. GELU is the exact (erf) form PyTorch's nn.GELU uses.
enum { VIT_ACT_IDENTITY = 0, VIT_ACT_RELU = 1, VIT_ACT_GELU = 2 };

/// Depthwise convolution, zero padding kernel/2, weights tap-major `[k*k][C]`, computing output
/// rows [row_begin, row_end) of the image. out = act(conv(x) + bias (+ residual when not NULL)),
/// act one of VIT_ACT_*, then · scale + shift per channel when scale is not NULL (a BatchNorm that
/// follows the activation, as in XCiT's local patch interaction). out and residual point at the
/// whole output image; residual may be out itself (in place) but must not alias x. Input pixels
/// are ldx ≥ channels floats apart (e.g. some columns of wider rows), output pixels channels.
void vit_depthwise_hwc(const float *x, long ldx, int height, int width, int channels,
                       const float *weight, const float *bias, int kernel, int stride, int act,
                       const float *scale, const float *shift,
                       const float *residual, float *out, int row_begin, int row_end);

/// Max pooling of an HWC image with implicit −∞ padding (as PyTorch's MaxPool2d), output rows
/// [row_begin, row_end).
void vit_max_pool_hwc(const float *x, int height, int width, int channels, int kernel, int stride, int pad,
                      float *out, int row_begin, int row_end);

/// rows×cols block of a matrix with row stride ld: m[r][c] = act(m[r][c] + bias[c]), act one of
/// VIT_ACT_*.
void vit_bias_activation(float *m, int rows, int cols, int ld, const float *bias, int act);

/// Bilinear 2× upsampling of an HWC image (PyTorch's `nn.Upsample(scale_factor=2, mode='bilinear')`,
/// align_corners=False: source coordinate (o + 0.5) / 2 − 0.5, clamped at 0 and at the last
/// row/column), then act (one of VIT_ACT_*); output rows [row_begin, row_end) of the
/// [2·height, 2·width, channels] image `out`.
void vit_upsample2x_bilinear_hwc(const float *x, int height, int width, int channels, int act, float *out,
                                 int row_begin, int row_end);

/// Talking heads: out[g][i] = bias[g] + Σ_h weight[g][h] · x[h][i] for g, h < heads and i < count,
/// a linear layer across the heads of `heads` score matrices of `count` floats each (in h order).
/// The matrices of x and of out are `stride` floats apart.
void vit_mix_heads(const float *x, int heads, long count, long stride, const float *weight, const float *bias,
                   float *out);

/// out[c][r] = x[r][c] (+ residual[c][r]): one rows×cols matrix transposed, e.g. tokens ×
/// channels to channels × tokens for MLP-Mixer's token mixing. residual (cols×rows, or NULL) may
/// be out itself; x must not overlap out.
void vit_transpose_add(const float *x, int rows, int cols, const float *residual, float *out);

/// Column means of a rows×cols matrix (global average pooling of an HWC image).
void vit_column_mean(const float *m, int rows, int cols, float *out);

/// m[r][c] = x[r][c] * scale[c] (squeeze-excite gating); m may alias x.
void vit_scale_columns(const float *x, int rows, int cols, const float *scale, float *out);

/// Row-wise softmax(m + bias) in place (bias `rows×cols`, or NULL for none), subtracting the row
/// maximum as PyTorch does. Rows are cols apart.
void vit_softmax_rows(float *m, const float *bias, int rows, int cols);

/// Floats of scratch vit_attention_head needs for t tokens and key_dim-dimensional keys.
long vit_attention_head_scratch_count(int t, int key_dim);

/// One attention head over t tokens in one pass (for short sequences such as local windows):
/// out_i = Σ_j softmax_j((q_i · scale) · k_j + bias_ij) · v_j, with bias `t×t` (or NULL) and the
/// softmax of vit_softmax_rows. Rows of q, k, v and out are ldq, ldk, ldv, ldo floats apart;
/// out must not overlap the inputs. scratch holds vit_attention_head_scratch_count floats.
void vit_attention_head(const float *q, long ldq, const float *k, long ldk, const float *v, long ldv,
                        const float *bias, int t, int key_dim, int value_dim, float scale, float *out, long ldo,
                        float *scratch);

/// LayerNorm over each row of `cols` floats: out = (x − mean) / sqrt(var + eps) · gamma + beta,
/// with the biased variance, as torch.nn.LayerNorm. Rows of x are ldx apart, rows of out ldo apart;
/// out may be x.
void vit_layer_norm_rows(const float *x, long ldx, int rows, int cols, const float *gamma, const float *beta,
                         float eps, float *out, long ldo);

/// Floats of a k×n weight matrix packed for vit_gemm_packed (n rounded up to panels of 32).
long vit_packed_weights_count(int k, int n);

/// Packs a row-major k×n weight matrix into panels of 32 columns (zeros beyond n).
void vit_pack_weights(const float *weight, int k, int n, float *packed);

/// vit_pack_weights of a weight in PyTorch's layout, without a transposed copy in between: a
/// linear layer's or 1×1 conv's [n, cin] (kernel 1), or a convolution's [n, cin, kernel, kernel]
/// as the (kernel·kernel·cin)×n matrix whose rows run over (ky, kx, ci), the order of the
/// channels-last band vit_conv2d_packed_rows reads.
void vit_pack_torch_weights(const float *w, int n, int cin, int kernel, float *packed);

/// c[m×n] = act(a[m×k] · W + bias (+ residual)), W packed by vit_pack_weights, act one of
/// VIT_ACT_*; any n, the block starting on a panel boundary. residual may be c
/// itself (in-place residual).
void vit_gemm_packed(int m, int n, int k, const float *a, long lda, const float *packed,
                     const float *bias, int act, const float *residual, long ldr, float *c, long ldc);

/// Scratch floats vit_conv2d_packed_rows needs for `out_rows` output rows.
long vit_conv2d_scratch_count(int cin, int width, int kernel, int stride, int pad, int cout, int out_rows);

/// Whether vit_conv2d_packed_rows computes a layer of this shape in row pairs when given the
/// weight's outer-rows sum: 3×3, stride 2, at least 16 input channels.
int vit_conv2d_uses_row_pairs(int cin, int kernel, int stride);

/// From a 3×3 convolution's weight packed by vit_pack_weights ((9·cin)×cout), the sum of its
/// first and last kernel rows, (3·cin)×cout packed the same way (vit_packed_weights_count(3·cin,
/// cout) floats): what vit_conv2d_packed_rows needs to compute a stride-2 layer in row pairs.
void vit_pack_outer_rows_sum(const float *packed, int cin, int cout, float *out);

/// Output rows oy0..<oy1 of a dense convolution (groups = 1, zero padding `pad`), channels-last:
/// out = act(conv(x) + bias), output row oy0 at `out` and each next row `out_row_stride` floats
/// further (ow·cout for a whole image; a padded band row's floats when the rows feed the next
/// convolution's band). x is one image, [height, width, cin] when channels_last, else [cin,
/// height, width]. The weight is
/// [cout, kernel, kernel, cin] as a (kernel·kernel·cin)×cout matrix packed by vit_pack_weights;
/// any cout. The sum runs in (ky, kx, cin) order, as the GEMM of an im2col matrix would, unless
/// `outer_sum` (vit_pack_outer_rows_sum of the weight, or NULL) is given for a 3×3 stride-2
/// layer: then output rows come in pairs that share one product (15 multiply-adds per output
/// pair and input channel instead of 18; see conv3x3s2_row_pairs), each row's sum in a fixed
/// order whatever the block. A CHW input with at most 4 channels (3×3, stride 2, padding 1: an
/// RGB stem) runs vectorized over output pixels where the running tier has a kernel for its
/// output width (avx512/image_conv.c: 8 or 24; templates/image_conv.h: 1–4 vectors), with the
/// bits of the GEMM path. Otherwise the input rows are first copied into
/// `scratch` as a band (see vit_conv2d_band_rows) and the rows computed from it.
void vit_conv2d_packed_rows(const float *x, int channels_last, int height, int width, int cin, int kernel,
                            int stride, int pad, const float *packed, const float *outer_sum, const float *bias,
                            int cout, int act, int oy0, int oy1, float *scratch, float *out, long out_row_stride);

/// Floats of a band: the input rows `out_rows` output rows of a channels-last convolution read,
/// ((out_rows − 1)·stride + kernel) rows of (width + 2·pad)·cin floats, zero-padded left and right.
long vit_conv2d_band_count(int cin, int width, int kernel, int stride, int pad, int out_rows);

/// Scratch floats vit_conv2d_band_rows needs beside its band (a row-pair layer's difference row
/// and shared product; 0 otherwise).
long vit_conv2d_band_scratch_count(int cin, int width, int kernel, int stride, int pad, int cout);

/// vit_conv2d_packed_rows on a channels-last input already laid out as a band: `band` starts at
/// input row oy0·stride − pad and holds the rows output rows oy0..<oy1 read, each (width +
/// 2·pad)·cin floats with its `pad` pixels left and right zero, rows outside the image all zero.
/// What a chain of convolutions streamed by row bands uses: each layer writes its rows straight
/// into the next one's band. Same bits as vit_conv2d_packed_rows.
void vit_conv2d_band_rows(const float *band, int width, int cin, int kernel, int stride, int pad,
                          const float *packed, const float *outer_sum, const float *bias, int cout, int act,
                          int oy0, int oy1, float *scratch, float *out, long out_row_stride);

#endif
