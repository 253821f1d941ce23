// The AVX2 + FMA tier (Haswell, Zen 1–3 and later): the shared kernel bodies on 8-float vectors
// with 16 registers. GEMM tiles of 6 rows × 16 columns (12 accumulators, 2 panel vectors and a
// broadcast: 15 registers); a 32-column weight panel is two such tiles side by side.
#if defined(__x86_64__)
#include "../backend.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

// Everything below is built for this tier's instruction set (the shared bodies included too).
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

#include "simd.h"
#include "../templates/math.h"

#define TIER_FN
#define GEMM_MR 6
#define GEMM_HEIGHTS(X) X(6) X(5) X(4) X(3) X(2) X(1)
#include "../templates/gemm_tile.h"
#include "../templates/gemm_panel.h"

#include "../templates/depthwise.h"

#define QUERY_BLOCK 2    // two queries × up to 8 key vectors: 16 accumulators for a 64-token window
#define KEY_VECTORS 8
#define VALUE_VECTORS 4
// Values at most 4 vectors wide gain less from a second query than its scores cost in spills
// (micro-benchmark, 49 tokens, 16-dim keys: 16-wide values 7.8 → 6.9 µs, 32-wide 9.1 → 7.4 µs;
// 48- and 64-wide lose 20–30 %).
#define ATTENTION_SINGLE_QUERIES(vd) ((vd) <= 4 * VL)
#include "../templates/attention.h"

#include "../templates/rows.h"

#include "../templates/image_conv.h"

#include "../templates/backend_table.h"
const vit_backend vit_backend_avx2 = VIT_TEMPLATE_BACKEND("avx2", NULL, image_conv_covers, image_conv_rows);

#pragma clang attribute pop
#endif
