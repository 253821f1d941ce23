// The portable tier: the shared kernel bodies on the compiler's generic 4-float vectors, for any
// CPU. On x86-64 each kernel is built for x86-64-v4, v3 and the baseline (target_clones), so it
// fuses its multiply-adds where the CPU has FMA (the bits of the other tiers) and the compiler's
// own loops use the widest registers; elsewhere (ARM) it is built for the target's vector unit.
// GEMM tiles of 6 rows × 8 columns: 12 accumulators of 16 registers (SSE), 4 tiles a panel.
#include "../backend.h"
#include "simd.h"
#include "../templates/math.h"

#if defined(__x86_64__)
#define TIER_FN __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define TIER_TILE_FN TIER_FN  // a multiversioned function is never inlined
#else
#define TIER_FN
#endif
#define GEMM_MR 6
#define GEMM_HEIGHTS(X) X(6) X(4) X(2) X(1)
#include "../templates/gemm_tile.h"
#include "../templates/gemm_panel.h"

#include "../templates/depthwise.h"

#define QUERY_BLOCK 2
#define KEY_VECTORS 4
#define VALUE_VECTORS 4
#include "../templates/attention.h"

#include "../templates/rows.h"

#include "../templates/image_conv.h"

#include "../templates/backend_table.h"
const vit_backend vit_backend_portable = VIT_TEMPLATE_BACKEND("portable", NULL, image_conv_covers, image_conv_rows);
