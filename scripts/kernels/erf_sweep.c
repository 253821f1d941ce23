// Measures templates/math.h's vector erf (verf) on this machine's tier vocabulary (NEON on
// AArch64, the portable one elsewhere): its error in ulp against the true value (glibc's double
// erf, rounded only by the comparison) and against libm's erff, over every 1e-4 of [−10, 10]
// and special values, or over every float with --every-float. Exits nonzero when it is more
// than 2 ulp from erff anywhere, or wrong on a special value (±0, ±∞, NaN, ±1 beyond 4).
// Built by scripts/kernels/check_tiers.sh, with and without fused multiply-adds on x86-64.
#include "CKernels.h"

#if defined(__aarch64__)
#include "../../Sources/CKernels/neon/simd.h"
#else
#include "../../Sources/CKernels/portable/simd.h"
#endif
#include "../../Sources/CKernels/templates/math.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

// One unit in the last place of a float whose value is y (subnormals: 2^−149).
static double float_ulp(double y) {
    y = fabs(y);
    if (y < 0x1p-126) return 0x1p-149;
    int e;
    frexp(y, &e);
    return ldexp(1.0, e - 24);
}

typedef struct { double truth, libm; float at_truth, at_libm; long count; } errors;

static void measure(const float *x, int n, errors *e) {
    float in[VL] = {0}, out[VL];
    memcpy(in, x, sizeof(float) * (size_t)n);
    vf v;
    memcpy(&v, in, sizeof v);
    v = verf(v);
    memcpy(out, &v, sizeof out);
    for (int i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        const double truth = erf((double)x[i]), ulp = float_ulp(truth);
        const double to_truth = fabs((double)out[i] - truth) / ulp;
        const double to_libm = fabs((double)out[i] - (double)erff(x[i])) / ulp;
        if (to_truth > e->truth) { e->truth = to_truth; e->at_truth = x[i]; }
        if (to_libm > e->libm) { e->libm = to_libm; e->at_libm = x[i]; }
        e->count++;
    }
}

static int special_values(void) {
    const float x[] = {0.0f, -0.0f, INFINITY, -INFINITY, 4.0f, -4.0f, 1e30f, -1e30f, NAN, -NAN, 0x1p-149f, -0x1p-149f};
    const int n = (int)(sizeof x / sizeof x[0]);
    int failures = 0;
    for (int i = 0; i < n; i += VL) {
        float in[VL] = {0}, out[VL];
        const int lanes = n - i < VL ? n - i : VL;
        memcpy(in, x + i, sizeof(float) * (size_t)lanes);
        vf v;
        memcpy(&v, in, sizeof v);
        v = verf(v);
        memcpy(out, &v, sizeof out);
        for (int j = 0; j < lanes; j++) {
            const float want = erff(x[i + j]);
            const int same = isnan(want) ? isnan(out[j]) : memcmp(&want, &out[j], sizeof want) == 0;
            if (!same) {
                printf("FAIL erf(%a) = %a, libm %a\n", x[i + j], out[j], want);
                failures++;
            }
        }
    }
    return failures;
}

int main(int argc, char **argv) {
    const int every_float = argc > 1 && strcmp(argv[1], "--every-float") == 0;
    errors e = {0};
    float batch[VL];
    int n = 0;
    if (every_float) {
        // Every positive float below +∞ (erf is odd and so is verf: the signs mirror).
        for (uint32_t bits = 0; bits < 0x7f800000u; bits++) {
            memcpy(&batch[n++], &bits, sizeof(float));
            if (n == VL) { measure(batch, n, &e); n = 0; }
        }
    } else {
        for (long i = -100000; i <= 100000; i++) {
            batch[n++] = (float)(i * 1e-4);
            if (n == VL) { measure(batch, n, &e); n = 0; }
        }
    }
    if (n) measure(batch, n, &e);
    const int failures = special_values();
    printf("erf (%s, %s): %ld values, max %.3f ulp from the true value (at %.9g), %.3f ulp from erff (at %.9g)\n",
#if defined(__aarch64__)
           "neon",
#else
           "portable",
#endif
#if defined(__FMA__) || defined(__aarch64__)
           "fused multiply-adds",
#else
           "no fused multiply-adds",
#endif
           e.count, e.truth, e.at_truth, e.libm, e.at_libm);
    if (e.libm > 2.0 || failures) {
        printf("FAIL erf: more than 2 ulp from erff, or a special value wrong\n");
        return 1;
    }
    return 0;
}
