// The NEON tier (AArch64's Advanced SIMD, on every ARMv8-A CPU: Apple M-series, AWS Graviton,
// Ampere Altra, Raspberry Pi 4 and 5): the shared kernel bodies on 4-float vectors with 32
// registers, plus an RGB interleave (one ST3 per four pixels).
//
// GEMM tiles of 12 rows × 8 columns (two vectors): 24 accumulators, the 2 panel vectors of a K
// step and A's elements broadcast (LD1R) into the registers left (clang rotates 3: 29 of 32, no
// spill in the loop). FMLA takes no memory operand, so every broadcast is a load: a K step is 14
// loads (one LDP of the panel's 2 vectors + 12 LD1R) for 24 FMAs, 0.58 loads per FMA, and the
// FMA pipes, not the load ports, bound the tile: a core with 2 FMA and 2 load pipes (Neoverse N1,
// Cortex-A76) spends 12 cycles on the FMAs and 7 on the loads, one with 4 and 3 (Apple M1,
// Neoverse V1/V2) 6 and 4.7. An 8 × 8 tile would load 10 for 16 FMAs (0.63) and 16 × 8 needs 32
// accumulators; widths other than 8 do not fit the shared 2-vector tile template. Four such tiles
// side by side cover a 32-column panel, each row tile's A rows staying in L1. (Arithmetic, not a
// measurement: no ARM machine has timed this tier yet. Where LD1R also takes a vector pipe, as on
// Neoverse N1, a tile that loads 4 A elements at once and multiplies by lane would do better.)
#if defined(__aarch64__)
#include "../backend.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "simd.h"
#include "../templates/math.h"

#define TIER_FN
#define GEMM_MR 12
#define GEMM_HEIGHTS(X) X(12) X(8) X(4) X(2) X(1)
#include "../templates/gemm_tile.h"
#include "../templates/gemm_panel.h"

#include "../templates/depthwise.h"

// Attention as on AVX-512, the other tier with 32 registers: 4 queries × 4 vectors of scores is
// 16 accumulators, 4 key vectors and a broadcast (21 registers, the rest for exp's constants),
// each key vector loaded once for 4 queries: 8 loads per 16 FMAs. Rows of up to 16 tokens (4×4
// windows) get their softmax in registers; 7×7 windows (13 vectors) go 4 + 4 + 4 + 1 through L1.
#define QUERY_BLOCK 4
#define KEY_VECTORS 4
#define VALUE_VECTORS 4
#include "../templates/attention.h"

#include "../templates/rows.h"

#include "../templates/image_conv.h"

// dst[3i + ch] = plane ch's [i], for i < n: one row of an RGB image from CHW to HWC, 4 pixels per
// ST3 (which stores three registers interleaved).
static void interleave_rgb(const float *r, const float *g, const float *b, int n, float *dst) {
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4x3_t pixels = {{vld1q_f32(r + i), vld1q_f32(g + i), vld1q_f32(b + i)}};
        vst3q_f32(dst + 3 * i, pixels);
    }
    for (; i < n; i++) { dst[3 * i] = r[i]; dst[3 * i + 1] = g[i]; dst[3 * i + 2] = b[i]; }
}

#include "../templates/backend_table.h"
const vit_backend vit_backend_neon = VIT_TEMPLATE_BACKEND("neon", interleave_rgb, image_conv_covers, image_conv_rows);

#endif
