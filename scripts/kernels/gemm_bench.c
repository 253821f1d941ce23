// GFLOP/s of the packed GEMM on each kernel tier this CPU runs, at the shapes EfficientViT and
// DeiT run (rows × K × N), beside OpenBLAS's cblas_sgemm on the same shapes and a loop of
// independent FMAs (the core's peak) of 256 and 512 bits. Built and run by scripts/kernels/bench.sh.
#include "bench_common.h"

#include <cblas.h>
#include <immintrin.h>
#include <stdlib.h>

// A loop of FMAs on 12 independent accumulators (enough to cover the FMA latency on every core
// the README lists): the core's peak for one vector width. FLOATS floats a vector, 2 FLOPs each.
#define DEFINE_FMA_PEAK(NAME, TARGET, VEC, FLOATS, SET1, FMADD, FIRST)                 \
    __attribute__((target(TARGET), noinline)) static double NAME(double seconds) {     \
        VEC acc[12];                                                                   \
        for (int i = 0; i < 12; i++) acc[i] = SET1((float)i);                          \
        const VEC a = SET1(0.999999f), b = SET1(1e-7f);                                \
        long iterations = 0;                                                           \
        const double start = now();                                                    \
        double elapsed;                                                                \
        do {                                                                           \
            for (int r = 0; r < 100000; r++) {                                         \
                for (int i = 0; i < 12; i++) acc[i] = FMADD(acc[i], a, b);             \
            }                                                                          \
            iterations += 100000;                                                      \
            elapsed = now() - start;                                                   \
        } while (elapsed < seconds);                                                   \
        float sink = 0;                                                                \
        for (int i = 0; i < 12; i++) sink += FIRST(acc[i]);                            \
        if (sink == 12345.f) puts("");                                                 \
        return iterations * 12.0 * 2 * FLOATS / elapsed / 1e9;                         \
    }
DEFINE_FMA_PEAK(fma_peak_256, "avx2,fma", __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_cvtss_f32)
DEFINE_FMA_PEAK(fma_peak_512, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_cvtss_f32)

static float *random_floats(long n) {
    float *x = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) x[i] = (float)((i * 7919) % 2000) / 1000.0f - 1.0f;
    return x;
}

// Median-free but steady: the best of 5 rounds of at least 0.2 s each.
static double gflops(double flops, void (*run)(void *), void *context) {
    double best = 0;
    for (int round = 0; round < 5; round++) {
        long n = 0;
        const double start = now();
        double elapsed;
        do {
            run(context);
            n++;
            elapsed = now() - start;
        } while (elapsed < 0.2);
        const double rate = flops * n / elapsed / 1e9;
        if (rate > best) best = rate;
    }
    return best;
}

typedef struct { int m, k, n, act; const float *a, *packed, *bias, *w; float *c; } problem;

static void run_packed(void *p) {
    const problem *q = p;
    // Row blocks of 96 rows, as the executor cuts a 1×1 convolution.
    for (int m0 = 0; m0 < q->m; m0 += 96) {
        const int rows = q->m - m0 < 96 ? q->m - m0 : 96;
        vit_gemm_packed(rows, q->n, q->k, q->a + (long)m0 * q->k, q->k, q->packed, q->bias, q->act, NULL, 0,
                        q->c + (long)m0 * q->n, q->n);
    }
}

static void run_blas(void *p) {
    const problem *q = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->m, q->n, q->k, 1.0f, q->a, q->k, q->w, q->n, 0.0f,
                q->c, q->n);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    openblas_set_num_threads(1);
    printf("OpenBLAS core: %s\n", openblas_get_corename());
    // The best of 5 rounds: on a shared VM a single round may land in a slow moment.
    double peak256 = 0, peak512 = 0;
    for (int round = 0; round < 5; round++) {
        if (vit_isa_supported(VIT_ISA_AVX2)) {
            const double rate = fma_peak_256(0.3);
            if (rate > peak256) peak256 = rate;
        }
        if (vit_isa_supported(VIT_ISA_AVX512)) {
            const double rate = fma_peak_512(0.3);
            if (rate > peak512) peak512 = rate;
        }
    }
    printf("FMA loop, 256-bit: %.1f GFLOP/s (best of 5)\n", peak256);
    if (peak512 > 0) printf("FMA loop, 512-bit: %.1f GFLOP/s (best of 5)\n", peak512);
    // rows × K × N: EfficientViT's 1×1 convolutions and feed-forward layers at batch 16 (M0's
    // 56² stage, M4's 14² and 7² stages), its head, and DeiT-Tiny's qkv and MLP at batch 16.
    static const int shapes[][3] = {{3136, 64, 128}, {784, 128, 256}, {196, 192, 384}, {784, 192, 384},
                                    {16, 384, 1000}, {197, 192, 768}, {3152, 768, 192}, {3152, 192, 576}};
    const int count = sizeof shapes / sizeof shapes[0];
    print_tier_header("rows×K×N | OpenBLAS", 2, "", "avx2 / 256-bit peak |", 1);
    for (int s = 0; s < count; s++) {
        problem q = {shapes[s][0], shapes[s][1], shapes[s][2], VIT_ACT_IDENTITY, 0, 0, 0, 0, 0};
        float *a = random_floats((long)q.m * q.k), *w = random_floats((long)q.k * q.n), *bias = random_floats(q.n);
        float *packed = malloc(sizeof(float) * vit_packed_weights_count(q.k, q.n));
        vit_pack_weights(w, q.k, q.n, packed);
        q.a = a;
        q.w = w;
        q.packed = packed;
        q.bias = bias;
        q.c = malloc(sizeof(float) * (long)q.m * q.n);
        const double flops = 2.0 * q.m * q.k * q.n;
        printf("| %d×%d×%d | %.1f |", q.m, q.k, q.n, gflops(flops, run_blas, &q));
        double avx2 = 0;
        for (int isa = VIT_ISA_COUNT - 1; isa >= 0; isa--) {
            if (!vit_isa_supported(isa)) continue;
            vit_kernels_set_isa(isa);
            const double rate = gflops(flops, run_packed, &q);
            if (isa == VIT_ISA_AVX2) avx2 = rate;
            printf(" %.1f |", rate);
        }
        printf(" %.0f%% |\n", peak256 > 0 ? 100 * avx2 / peak256 : 0);
        vit_kernels_set_isa(vit_isa_best());
        free(a); free(w); free(bias); free(packed); free(q.c);
    }
    return 0;
}
