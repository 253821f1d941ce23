// Time of one small-window attention head (vit_attention_head) on each kernel tier this CPU
// runs, at EfficientViT's window shapes (tokens × key dim × value dim). Built and run by
// scripts/kernels/bench.sh.
#include "bench_common.h"

#include <stdlib.h>

int main(void) {
    // M0's stages: 7×7 windows with 16- and 32-wide values, a 4×4 window with 48; M4/M5's 64.
    static const int shapes[][3] = {{49, 16, 16}, {49, 16, 32}, {16, 16, 48}, {49, 16, 64}};
    print_tier_header("tokens×key×value", 1, " µs", "", 0);
    for (int s = 0; s < 4; s++) {
        const int t = shapes[s][0], kd = shapes[s][1], vd = shapes[s][2];
        float *q = malloc(sizeof(float) * t * kd * 2), *k = q + t * kd, *v = malloc(sizeof(float) * t * vd);
        float *bias = malloc(sizeof(float) * t * t), *out = malloc(sizeof(float) * t * vd);
        float *scratch = malloc(sizeof(float) * vit_attention_head_scratch_count(t, kd));
        for (int i = 0; i < 2 * t * kd; i++) q[i] = (float)(i % 17) / 17.0f;
        for (int i = 0; i < t * vd; i++) v[i] = (float)(i % 13) / 13.0f;
        for (int i = 0; i < t * t; i++) bias[i] = (float)(i % 7) / 7.0f;
        printf("| %d×%d×%d |", t, kd, vd);
        for (int isa = VIT_ISA_COUNT - 1; isa >= 0; isa--) {
            if (!vit_isa_supported(isa)) continue;
            vit_kernels_set_isa(isa);
            double best = 1e9;  // the best of 5 rounds of 20,000 heads
            for (int round = 0; round < 5; round++) {
                const double start = now();
                for (int n = 0; n < 20000; n++) {
                    vit_attention_head(q, kd, k, kd, v, vd, bias, t, kd, vd, 0.25f, out, vd, scratch);
                }
                const double each = (now() - start) / 20000;
                if (each < best) best = each;
            }
            printf(" %.2f |", best * 1e6);
        }
        printf("\n");
        free(q); free(v); free(bias); free(out); free(scratch);
    }
    return 0;
}
