// What the kernel micro-benchmarks share: a clock, and a Markdown table header with one column
// per kernel tier this CPU runs (best first).
#ifndef VIT_BENCH_COMMON_H
#define VIT_BENCH_COMMON_H

#include "CKernels.h"

#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// `| before | <tier><unit> | … | after |` and its rule; `before` and `after` are whole columns
/// (`after` may be empty), `before_count` and `after_count` how many.
static void print_tier_header(const char *before, int before_count, const char *unit, const char *after,
                              int after_count) {
    printf("\n| %s |", before);
    for (int isa = VIT_ISA_COUNT - 1; isa >= 0; isa--) {
        if (vit_isa_supported(isa)) printf(" %s%s |", vit_isa_name(isa), unit);
    }
    printf("%s%s\n|", after[0] ? " " : "", after[0] ? after : "");
    for (int i = 0; i < before_count + after_count; i++) printf("---|");
    for (int isa = 0; isa < VIT_ISA_COUNT; isa++) {
        if (vit_isa_supported(isa)) printf("---|");
    }
    printf("\n");
}

#endif
