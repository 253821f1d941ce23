// The packed GEMM's loop over one panel, for the including tier, after templates/gemm_tile.h. A
// tier may define GEMM_NARROWEST(h, width) first, a statement that returns its own tile for
// widths narrower than one vector (AVX-512: a 256-bit tile).
#ifndef VIT_TEMPLATE_GEMM_PANEL_H
#define VIT_TEMPLATE_GEMM_PANEL_H

/// The tile for `width` ≤ GEMM_TILE_COLS columns at height index h.
static gemm_tile_fn gemm_pick(int h, int width) {
#ifdef GEMM_NARROWEST
    GEMM_NARROWEST(h, width)
#endif
    return width > VL ? gemm_wide[h] : gemm_narrow[h];
}

/// vit_backend.gemm_panel: rows in tiles of gemm_heights, tallest first.
static void gemm_panel(VIT_PANEL_ARGS) {
    int m0 = 0;
    for (int h = 0; h < GEMM_HEIGHT_COUNT; h++) {
        for (; m - m0 >= gemm_heights[h]; m0 += gemm_heights[h]) {
            for (int col0 = 0; col0 < cols; col0 += GEMM_TILE_COLS) {
                const int width = cols - col0 < GEMM_TILE_COLS ? cols - col0 : GEMM_TILE_COLS;
                // The first row tile of a panel asks for the next panel (rows after it find it in L2).
                gemm_pick(h, width)(segments, run, offsets, a + (long)m0 * lda, lda, panel + col0,
                                    bias ? bias + col0 : 0, width, act,
                                    residual ? residual + (long)m0 * ldr + col0 : 0, ldr, c + (long)m0 * ldc + col0,
                                    ldc, m0 == 0 && next ? next + col0 : 0);
            }
        }
    }
}

#endif
