// Every kernel of the tier seam (backend.h) on every tier this CPU runs besides the portable one,
// against the portable tier, through the engine's entry points with the tier forced by
// vit_kernels_set_isa: the packed GEMM with each epilogue (bias or none; residual none, separate
// or in place; identity, ReLU, GELU), dense convolutions (channels-last and planar, RGB stems
// through the tier's image_conv and interleave_rgb, 3×3 stride-2 row pairs, blocks of rows),
// depthwise convolutions (strides 1 and 2, tails, wide input rows, BatchNorm affine, residual in
// place, row ranges), the attention head, and exp (softmax), GELU and LayerNorm rows. Inputs are
// random; shapes include 1 row, 1 column and widths that are no multiple of any vector.
//
// Pass marks are the Swift kernel tests' (Tests/ViTEngineTests: PackedGEMMTests, FeatureMap-,
// Attention- and KernelISATests): the largest absolute difference from the portable tier's
// result, over the whole output buffer (floats the kernel must not write are NaN and must stay
// so). Like those tests, a tier must also give its own bits for a convolution whatever the
// input layout and the cut into row blocks, and the portable tier's bits for a depthwise
// convolution without GELU (the same FMAs in the same order). Prints one line per kernel and
// tier; exits 1 on any failure. Built and run by scripts/kernels/check_tiers.sh.
#include "CKernels.h"
#include "../../Sources/CKernels/backend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name, *shapes;
    double tolerance, worst;
    long cases, failures;
} group;

enum { GEMM, CONV, CONV_BITS, DEPTHWISE, DEPTHWISE_BITS, ATTENTION, SOFTMAX, GELU, LAYER_NORM, UPSAMPLE,
       INTERLEAVE, GROUPS };

static group groups[GROUPS] = {
    [GEMM] = {"gemm_panel (vit_gemm_packed)", "m 1-37 × n 1-100 × k 1-64, 18 epilogues each", 1e-4, 0, 0, 0},
    [CONV] = {"conv2d (gemm_panel, image_conv)", "31 layers: k 1-7, strides 1-3, RGB stems, row pairs", 1e-4, 0, 0, 0},
    [CONV_BITS] = {"conv2d own bits: layouts, blocks", "the same, HWC vs CHW input, blocks of 2, 3, all rows", 0, 0, 0, 0},
    [DEPTHWISE] = {"depthwise", "k 3, 5, 7; strides 1, 2; 1-160 channels; ldx > channels", 1e-5, 0, 0, 0},
    [DEPTHWISE_BITS] = {"depthwise portable bits (no GELU)", "the same, identity and ReLU", 0, 0, 0, 0},
    [ATTENTION] = {"attention_head", "t 1-197, key dims 3-64, value dims 5-80", 1e-5, 0, 0, 0},
    [SOFTMAX] = {"exp_row (vit_softmax_rows)", "rows of 1-197, with and without bias; −∞, underflow", 1e-6, 0, 0, 0},
    [GELU] = {"gelu_row (vit_bias_activation)", "rows of 1-197; ±0, ±4, ±∞, NaN, subnormals", 2e-6, 0, 0, 0},
    [LAYER_NORM] = {"layer_norm_rows", "rows of 1-197, ldx > cols, in place", 2e-5, 0, 0, 0},
    [UPSAMPLE] = {"gelu_row (vit_upsample2x_bilinear_hwc)", "1-19 channels, identity, ReLU, GELU", 2e-6, 0, 0, 0},
    [INTERLEAVE] = {"interleave_rgb (table)", "widths 0-40, against the generic loop", 0, 0, 0, 0},
};

static int tier;  // the tier under test

static unsigned long long seed = 0x9E3779B97F4A7C15ull;
static float next_value(float scale) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return scale * ((float)((long long)(seed >> 11) % 2000) / 1000.0f - 1.0f);
}
static float *random_floats(long n, float scale) {
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) x[i] = next_value(scale);
    return x;
}
static float *nan_floats(long n) {
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) x[i] = NAN;
    return x;
}
static float *copy_floats(const float *x, long n) {
    float *y = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    memcpy(y, x, sizeof(float) * (size_t)n);
    return y;
}

static void use(int isa) {
    if (!vit_kernels_set_isa(isa)) {
        fprintf(stderr, "cannot force the %s tier\n", vit_isa_name(isa));
        exit(2);
    }
}

// Largest |a − b| over n floats; NaN where only one is NaN counts as infinite, as do differing
// bits when `bits` asks for identity.
static double difference(const float *a, const float *b, long n, int bits) {
    double worst = 0;
    for (long i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) {
            if (isnan(a[i]) != isnan(b[i])) return INFINITY;
            continue;
        }
        if (bits && memcmp(&a[i], &b[i], sizeof(float)) != 0) return INFINITY;
        const double d = fabs((double)a[i] - (double)b[i]);
        if (d > worst) worst = d;
    }
    return worst;
}

static void record(int g, double error, const char *what) {
    group *gr = &groups[g];
    gr->cases++;
    if (error > gr->worst) gr->worst = error;
    if (!(error <= gr->tolerance)) {
        gr->failures++;
        if (gr->failures <= 5) printf("  FAIL %s on %s: %s, max |Δ| %.3g\n", gr->name, vit_isa_name(tier), what, error);
    }
}

// ---- GEMM -------------------------------------------------------------------------------------

static void check_gemm(int m, int n, int k) {
    const long lda = k + 2, ldc = n + 3, ldr = n + 5;
    float *a = random_floats(m * lda, 1), *w = random_floats((long)k * n, 1), *bias = random_floats(n, 1);
    float *start = random_floats(m * ldc, 1), *residual = random_floats(m * ldr, 1);
    float *packed = malloc(sizeof(float) * (size_t)vit_packed_weights_count(k, n));
    vit_pack_weights(w, k, n, packed);
    for (int act = 0; act < 3; act++) {
        for (int mode = 0; mode < 3; mode++) {  // residual: none, separate, in place
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                float *out[2];
                for (int side = 0; side < 2; side++) {
                    use(side ? tier : VIT_ISA_PORTABLE);
                    out[side] = mode == 2 ? copy_floats(start, m * ldc) : nan_floats(m * ldc);
                    const float *r = mode == 0 ? NULL : mode == 1 ? residual : out[side];
                    vit_gemm_packed(m, n, k, a, lda, packed, with_bias ? bias : NULL, act, r, mode == 1 ? ldr : ldc,
                                    out[side], ldc);
                }
                char what[96];
                snprintf(what, sizeof what, "m %d n %d k %d act %d residual %d bias %d", m, n, k, act, mode, with_bias);
                record(GEMM, difference(out[1], out[0], m * ldc, 0), what);
                free(out[0]);
                free(out[1]);
            }
        }
    }
    free(a), free(w), free(bias), free(start), free(residual), free(packed);
}

// ---- dense convolution ----------------------------------------------------------------------

typedef struct { int cin, cout, h, w, k, stride, pad; } conv_shape;

static float *run_conv(const conv_shape *s, const float *input, int channels_last, const float *packed,
                       const float *outer, const float *bias, int act, int block) {
    const int oh = (s->h + 2 * s->pad - s->k) / s->stride + 1, ow = (s->w + 2 * s->pad - s->k) / s->stride + 1;
    float *out = nan_floats((long)oh * ow * s->cout);
    float *scratch = nan_floats(vit_conv2d_scratch_count(s->cin, s->w, s->k, s->stride, s->pad, s->cout, block));
    for (int oy0 = 0; oy0 < oh; oy0 += block) {
        const int oy1 = oy0 + block < oh ? oy0 + block : oh;
        vit_conv2d_packed_rows(input, channels_last, s->h, s->w, s->cin, s->k, s->stride, s->pad, packed, outer, bias,
                               s->cout, act, oy0, oy1, scratch, out + (long)oy0 * ow * s->cout, (long)ow * s->cout);
    }
    free(scratch);
    return out;
}

static void check_conv(conv_shape s) {
    const int oh = (s.h + 2 * s.pad - s.k) / s.stride + 1, ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
    const long k = (long)s.k * s.k * s.cin, outs = (long)oh * ow * s.cout;
    float *hwc = random_floats((long)s.h * s.w * s.cin, 1), *chw = malloc(sizeof(float) * (size_t)(s.h * s.w * s.cin));
    for (int y = 0; y < s.h; y++)
        for (int x = 0; x < s.w; x++)
            for (int c = 0; c < s.cin; c++) chw[((long)c * s.h + y) * s.w + x] = hwc[((long)y * s.w + x) * s.cin + c];
    float *weight = random_floats(k * s.cout, 1), *bias = random_floats(s.cout, 1);
    float *packed = malloc(sizeof(float) * (size_t)vit_packed_weights_count((int)k, s.cout));
    vit_pack_weights(weight, (int)k, s.cout, packed);
    const int pairs = vit_conv2d_uses_row_pairs(s.cin, s.k, s.stride);
    float *outer = malloc(sizeof(float) * (size_t)vit_packed_weights_count(3 * s.cin, s.cout));
    if (pairs) vit_pack_outer_rows_sum(packed, s.cin, s.cout, outer);
    for (int act = 0; act < 3; act++) {
        for (int with_pairs = 0; with_pairs <= pairs; with_pairs++) {
            const float *o = with_pairs ? outer : NULL;
            char what[128];
            snprintf(what, sizeof what, "cin %d cout %d %d×%d kernel %d stride %d pad %d act %d row pairs %d", s.cin,
                     s.cout, s.h, s.w, s.k, s.stride, s.pad, act, with_pairs);
            use(VIT_ISA_PORTABLE);
            float *reference = run_conv(&s, hwc, 1, packed, o, bias, act, 2);
            use(tier);
            float *mine = run_conv(&s, hwc, 1, packed, o, bias, act, 2);
            record(CONV, difference(mine, reference, outs, 0), what);
            const int blocks[3] = {2, 3, oh};
            for (int b = 0; b < 3; b++) {
                for (int layout = 0; layout < 2; layout++) {
                    float *other = run_conv(&s, layout ? hwc : chw, layout, packed, o, bias, act, blocks[b]);
                    record(CONV_BITS, difference(other, mine, outs, 1), what);
                    free(other);
                }
            }
            free(reference);
            free(mine);
        }
    }
    free(hwc), free(chw), free(weight), free(bias), free(packed), free(outer);
}

// ---- depthwise --------------------------------------------------------------------------------

static void check_depthwise(int h, int w, int c, int ldx, int k) {
    float *x = random_floats((long)h * w * ldx, 1), *weight = random_floats((long)k * k * c, 1);
    float *bias = random_floats(c, 1), *scale = random_floats(c, 1), *shift = random_floats(c, 1);
    for (long p = 0; p < (long)h * w; p++)
        for (int j = c; j < ldx; j++) x[p * ldx + j] = NAN;  // not the kernel's to read
    const int pad = k / 2;
    for (int stride = 1; stride <= 2; stride++) {
        const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        const long outs = (long)oh * ow * c;
        float *start = random_floats(outs, 1);
        for (int act = 0; act < 3; act++) {
            for (int variant = 0; variant < 4; variant++) {  // bit 0: residual in place; bit 1: affine
                const int in_place = variant & 1, affine = variant & 2;
                float *out[2];
                for (int side = 0; side < 2; side++) {
                    use(side ? tier : VIT_ISA_PORTABLE);
                    out[side] = in_place ? copy_floats(start, outs) : nan_floats(outs);
                    const float *r = in_place ? out[side] : NULL;
                    // The tier in two row ranges, as the executor cuts a layer into work items.
                    const int cut = side ? oh / 2 : 0;
                    if (cut > 0)
                        vit_depthwise_hwc(x, ldx, h, w, c, weight, bias, k, stride, act, affine ? scale : NULL,
                                          affine ? shift : NULL, r, out[side], 0, cut);
                    vit_depthwise_hwc(x, ldx, h, w, c, weight, bias, k, stride, act, affine ? scale : NULL,
                                      affine ? shift : NULL, r, out[side], cut, oh);
                }
                char what[112];
                snprintf(what, sizeof what, "%d×%d, %d channels, ldx %d, kernel %d, stride %d, act %d, variant %d", h, w,
                         c, ldx, k, stride, act, variant);
                const double error = difference(out[1], out[0], outs, 0);
                record(DEPTHWISE, error, what);
                if (act != VIT_ACT_GELU) record(DEPTHWISE_BITS, difference(out[1], out[0], outs, 1), what);
                free(out[0]);
                free(out[1]);
            }
        }
        free(start);
    }
    free(x), free(weight), free(bias), free(scale), free(shift);
}

// ---- attention --------------------------------------------------------------------------------

static void check_attention(int t, int kd, int vd, int with_bias) {
    const long ldq = kd + 3, ldk = kd + 5, ldv = vd + 7, ldo = vd + 1;
    float *q = random_floats(t * ldq, 1), *kk = random_floats(t * ldk, 1), *v = random_floats(t * ldv, 1);
    float *bias = random_floats((long)t * t, 1);
    float *out[2];
    for (int side = 0; side < 2; side++) {
        use(side ? tier : VIT_ISA_PORTABLE);
        out[side] = nan_floats(t * ldo);
        float *scratch = nan_floats(vit_attention_head_scratch_count(t, kd));
        vit_attention_head(q, ldq, kk, ldk, v, ldv, with_bias ? bias : NULL, t, kd, vd, 0.25f, out[side], ldo, scratch);
        free(scratch);
    }
    char what[80];
    snprintf(what, sizeof what, "t %d kd %d vd %d bias %d", t, kd, vd, with_bias);
    record(ATTENTION, difference(out[1], out[0], t * ldo, 0), what);
    free(q), free(kk), free(v), free(bias), free(out[0]), free(out[1]);
}

// ---- rows -------------------------------------------------------------------------------------

static void check_rows(int n) {
    char what[48];
    snprintf(what, sizeof what, "n %d", n);
    float *x = random_floats(3L * n, 30), *bias = random_floats(3L * n, 1), *out[2];
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        for (int side = 0; side < 2; side++) {
            use(side ? tier : VIT_ISA_PORTABLE);
            out[side] = copy_floats(x, 3L * n);
            vit_softmax_rows(out[side], with_bias ? bias : NULL, 3, n);
        }
        record(SOFTMAX, difference(out[1], out[0], 3L * n, 0), what);
        free(out[0]), free(out[1]);
    }
    free(x);
    x = random_floats(2L * (n + 1), 4);
    float *zeros = calloc((size_t)n, sizeof(float));
    for (int side = 0; side < 2; side++) {
        use(side ? tier : VIT_ISA_PORTABLE);
        out[side] = copy_floats(x, 2L * (n + 1));  // rows n + 1 apart: the float between is not the kernel's
        vit_bias_activation(out[side], 2, n, n + 1, zeros, VIT_ACT_GELU);
    }
    for (int r = 0; r < 2; r++) {
        if (out[1][r * (n + 1) + n] != x[r * (n + 1) + n]) record(GELU, INFINITY, "wrote past the row");
    }
    record(GELU, difference(out[1], out[0], 2L * (n + 1), 0), what);
    free(out[0]), free(out[1]), free(zeros), free(x);

    float *gamma = random_floats(n, 1), *beta = random_floats(n, 1);
    x = random_floats(2L * (n + 2), 4);
    for (int in_place = 0; in_place < 2; in_place++) {
        for (int side = 0; side < 2; side++) {
            use(side ? tier : VIT_ISA_PORTABLE);
            out[side] = in_place ? copy_floats(x, 2L * (n + 2)) : nan_floats(2L * n + 1);
            vit_layer_norm_rows(in_place ? out[side] : x, n + 2, 2, n, gamma, beta, 1e-6f, out[side],
                                in_place ? n + 2 : n);
        }
        record(LAYER_NORM, difference(out[1], out[0], in_place ? 2L * (n + 2) : 2L * n + 1, 0), what);
        free(out[0]), free(out[1]);
    }
    free(gamma), free(beta), free(x);
}

// GELU and softmax rows on the values where vector exp and erf are most often wrong: ±0,
// subnormals, the ends of erf's branches, ±4 (where erf becomes ±1), exp's clamps, huge values,
// ±∞ and NaN (GELU's NaN must stay NaN on every tier).
static void check_special_rows(void) {
    static const float special[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 0.93749994f, 0.9375f, -0.9375f, 3.9999998f, 4.0f,
                                    -4.0f, 10.0f, -10.0f, 88.0f, -88.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 1.5f, -2.5f};
    const int n = (int)(sizeof special / sizeof special[0]);
    float *zeros = calloc((size_t)n, sizeof(float)), *out[2];
    for (int side = 0; side < 2; side++) {
        use(side ? tier : VIT_ISA_PORTABLE);
        out[side] = copy_floats(special, n);
        vit_bias_activation(out[side], 1, n, n, zeros, VIT_ACT_GELU);
    }
    record(GELU, difference(out[1], out[0], n, 0), "special values");
    free(out[0]), free(out[1]);
    // A softmax row with −∞ (a masked score) and scores 200 apart: exp underflows to 0 exactly.
    static const float scores[] = {0.0f, -INFINITY, -100.0f, 50.0f, -200.0f, 1e-40f, 49.5f, -87.0f, 88.0f};
    const int m = (int)(sizeof scores / sizeof scores[0]);
    for (int side = 0; side < 2; side++) {
        use(side ? tier : VIT_ISA_PORTABLE);
        out[side] = copy_floats(scores, m);
        vit_softmax_rows(out[side], NULL, 1, m);
    }
    record(SOFTMAX, difference(out[1], out[0], m, 0), "special values");
    free(out[0]), free(out[1]), free(zeros);
}

static void check_upsample(int h, int w, int c) {
    float *x = random_floats((long)h * w * c, 2);
    const long outs = 4L * h * w * c;
    for (int act = 0; act < 3; act++) {
        float *out[2];
        for (int side = 0; side < 2; side++) {
            use(side ? tier : VIT_ISA_PORTABLE);
            out[side] = nan_floats(outs);
            vit_upsample2x_bilinear_hwc(x, h, w, c, act, out[side], 0, 2 * h);
        }
        char what[64];
        snprintf(what, sizeof what, "%d×%d, %d channels, act %d", h, w, c, act);
        record(UPSAMPLE, difference(out[1], out[0], outs, 0), what);
        free(out[0]), free(out[1]);
    }
    free(x);
}

static void check_interleave(const vit_backend *b) {
    for (int n = 0; n <= 40; n++) {
        float *r = random_floats(n, 1), *g = random_floats(n, 1), *bl = random_floats(n, 1);
        float *want = nan_floats(3L * n + 1), *got = nan_floats(3L * n + 1);
        for (int i = 0; i < n; i++) { want[3 * i] = r[i]; want[3 * i + 1] = g[i]; want[3 * i + 2] = bl[i]; }
        b->interleave_rgb(r, g, bl, n, got);
        char what[32];
        snprintf(what, sizeof what, "width %d", n);
        record(INTERLEAVE, difference(got, want, 3L * n + 1, 1), what);
        free(r), free(g), free(bl), free(want), free(got);
    }
}

// ---- the run ----------------------------------------------------------------------------------

static void check_tier(void) {
    static const int gemm_shapes[][3] = {
        {27, 3, 27}, {27, 8, 27}, {27, 13, 27}, {27, 16, 27}, {13, 3, 40}, {13, 13, 40}, {12, 16, 9}, {1, 1, 1},
        {1, 33, 5}, {2, 1, 9}, {5, 9, 1}, {7, 17, 3}, {11, 31, 8}, {13, 40, 2}, {19, 65, 7}, {23, 100, 12},
        {37, 96, 64}, {25, 72, 33}, {1, 4, 16}, {3, 5, 16}, {9, 32, 16}, {14, 7, 64}, {15, 64, 5}, {24, 36, 17},
        {36, 8, 3}, {6, 12, 1}};
    for (unsigned i = 0; i < sizeof gemm_shapes / sizeof gemm_shapes[0]; i++)
        check_gemm(gemm_shapes[i][0], gemm_shapes[i][1], gemm_shapes[i][2]);
    static const conv_shape conv_shapes[] = {
        {8, 16, 9, 11, 3, 2, 1}, {5, 40, 7, 6, 3, 1, 1}, {4, 8, 6, 9, 5, 1, 2}, {3, 8, 10, 10, 3, 2, 1},
        {6, 12, 8, 8, 2, 2, 0}, {4, 8, 5, 2, 3, 1, 1}, {2, 24, 4, 13, 7, 3, 3}, {3, 24, 9, 37, 3, 2, 1},
        {3, 48, 6, 66, 3, 2, 1}, {1, 16, 5, 34, 3, 2, 1}, {4, 8, 7, 3, 3, 2, 1}, {3, 12, 6, 20, 3, 2, 1},
        {3, 8, 5, 70, 3, 2, 1}, {2, 24, 6, 33, 3, 2, 1}, {3, 8, 4, 112, 3, 2, 1}, {3, 8, 3, 200, 3, 2, 1},
        {3, 16, 5, 27, 3, 2, 1}, {3, 32, 7, 29, 3, 2, 1}, {4, 32, 3, 1, 3, 2, 1}, {3, 16, 1, 2, 3, 2, 1},
        {16, 24, 9, 11, 3, 2, 1}, {32, 40, 8, 7, 3, 2, 1}, {17, 8, 5, 4, 3, 2, 1}, {16, 48, 2, 5, 3, 2, 1},
        {24, 32, 12, 12, 3, 2, 1}, {3, 4, 6, 13, 3, 2, 1}, {3, 20, 4, 17, 3, 2, 1}, {1, 4, 3, 3, 3, 2, 1},
        {3, 16, 9, 9, 3, 2, 1}, {24, 40, 5, 7, 1, 1, 0}, {3, 36, 5, 11, 3, 2, 1}};
    for (unsigned i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++) check_conv(conv_shapes[i]);
    static const int depthwise_shapes[][5] = {  // h, w, channels, ldx, kernel
        {7, 6, 70, 70, 3}, {7, 6, 16, 16, 3}, {7, 6, 16, 48, 3}, {7, 6, 40, 40, 3}, {7, 6, 8, 19, 3},
        {7, 6, 128, 160, 3}, {5, 14, 48, 48, 3}, {4, 15, 16, 16, 3}, {3, 23, 40, 40, 3}, {3, 1, 24, 24, 3},
        {2, 2, 16, 16, 3}, {7, 7, 16, 64, 5}, {1, 1, 1, 1, 3}, {6, 5, 3, 7, 3}, {5, 9, 5, 5, 7}, {9, 8, 33, 40, 5},
        {4, 4, 17, 17, 3}, {8, 3, 2, 2, 3}};
    for (unsigned i = 0; i < sizeof depthwise_shapes / sizeof depthwise_shapes[0]; i++) {
        const int *s = depthwise_shapes[i];
        check_depthwise(s[0], s[1], s[2], s[3], s[4]);
    }
    static const int attention_shapes[][4] = {  // t, key dim, value dim, bias
        {49, 16, 16, 1}, {49, 16, 32, 1}, {16, 16, 48, 1}, {25, 16, 64, 1}, {1, 8, 5, 0}, {7, 3, 17, 0},
        {64, 32, 80, 1}, {100, 24, 40, 1}, {197, 64, 64, 0}, {2, 16, 16, 1}, {3, 16, 16, 1}, {4, 16, 16, 0},
        {5, 5, 9, 1}, {17, 16, 16, 1}, {32, 16, 32, 1}, {33, 8, 12, 0}, {49, 16, 64, 0}, {16, 16, 16, 1}};
    for (unsigned i = 0; i < sizeof attention_shapes / sizeof attention_shapes[0]; i++) {
        const int *s = attention_shapes[i];
        check_attention(s[0], s[1], s[2], s[3]);
    }
    static const int lengths[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 49, 64, 197};
    for (unsigned i = 0; i < sizeof lengths / sizeof lengths[0]; i++) check_rows(lengths[i]);
    check_special_rows();
    check_upsample(5, 4, 19);
    check_upsample(3, 3, 1);
    check_upsample(2, 7, 8);
}

int main(void) {
    int failures = 0, tested = 0;
    for (int isa = 0; isa < VIT_ISA_COUNT; isa++) {
        if (isa == VIT_ISA_PORTABLE || !vit_isa_supported(isa)) continue;
        tier = isa;
        tested++;
        for (int g = 0; g < GROUPS; g++) groups[g].worst = 0, groups[g].cases = 0, groups[g].failures = 0;
        use(isa);
        const vit_backend *b = vit_active_backend();
        printf("%s vs portable (GEMM tiles of %d rows; interleave_rgb %s; image_conv %s):\n", vit_isa_name(isa),
               vit_gemm_row_tile(), b->interleave_rgb ? "yes" : "no", b->image_conv_rows ? "yes" : "no");
        check_tier();
        if (b->interleave_rgb) check_interleave(b);
        for (int g = 0; g < GROUPS; g++) {
            const group *gr = &groups[g];
            if (gr->cases == 0) continue;
            printf("  %-4s %-40s %5ld cases, max |Δ| %-9.3g (pass ≤ %g)  %s\n", gr->failures ? "FAIL" : "ok", gr->name,
                   gr->cases, gr->worst, gr->tolerance, gr->shapes);
            failures += gr->failures != 0;
        }
    }
    if (tested == 0) printf("no tier besides portable on this CPU: nothing to compare\n");
    printf(failures ? "FAILED: %d kernel groups\n" : "all kernels within the pass marks\n", failures);
    return failures ? 1 : 0;
}
