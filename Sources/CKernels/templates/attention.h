// One attention head over a short sequence (a local window: 16–64 tokens, 16–64-dim heads), in
// one pass that keeps scores in registers and L1, for the including tier (its simd.h and
// templates/math.h before this file; TIER_FN its functions' attributes; QUERY_BLOCK,
// KEY_VECTORS and VALUE_VECTORS sized to its registers).
//
// Why not two BLAS calls: at these sizes (EfficientViT's 7×7 windows with 16-dim keys, a few
// thousand FMAs per product) sgemm spends more time in call overhead, packing and edge handling
// than in arithmetic; the whole head fits in registers and the key matrix, transposed once,
// feeds VL scores per FMA.
//
// Arithmetic (the same on every tier and for every query, so results do not depend on how a
// layer is cut into work items): s_ij = Σ_c (q_ic · scale) · k_jc in c order, + bias_ij;
// p_ij = exp(s_ij − max_j s_ij) / Σ_j exp(…), i.e. vit_softmax_rows; out_i = Σ_j p_ij · v_j in
// j order. Only the softmax's sums run in lanes of VL, so tiers differ there by rounding.
#ifndef VIT_TEMPLATE_ATTENTION_H
#define VIT_TEMPLATE_ATTENTION_H

_Static_assert(VALUE_VECTORS == 4 && KEY_VECTORS >= 4 && KEY_VECTORS <= 8 && QUERY_BLOCK <= 4 && VL <= 16,
               "the block switches below and vit_attention_head_scratch_count assume these bounds");

static int attention_padded(int t) { return (t + VL - 1) / VL * VL; }

// Scores of queries i0 … i0+R−1 against keys VL·v0 … VL·(v0+V)−1: R·V accumulators in
// registers, one broadcast of each scaled query element, one load of each key vector.
VIT_V void scores_block(const int R, const int V, const float *q, long ldq, const float *kT, int tp, int kd,
                        int v0, float *rows) {
    vf acc[QUERY_BLOCK][KEY_VECTORS];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < V; w++) acc[r][w] = vzero();
    for (int c = 0; c < kd; c++) {
        const float *kc = kT + (long)c * tp + VL * v0;
        vf kv[KEY_VECTORS];
        for (int w = 0; w < V; w++) kv[w] = vload(kc + VL * w);
        for (int r = 0; r < R; r++) {
            const vf qc = vset1(q[r * ldq + c]);
            for (int w = 0; w < V; w++) acc[r][w] = vfma(qc, kv[w], acc[r][w]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int w = 0; w < V; w++) vstore(rows + (long)r * tp + VL * (v0 + w), acc[r][w]);
}

// Scores and softmax of queries i0 … i0+R−1 when a whole row of scores fits in registers
// (t ≤ VL·KEY_VECTORS): the arithmetic of vit_softmax_rows (and vit_exp_row: lane-wise
// partial sums in VL-key order, then one horizontal sum) without a trip through memory.
VIT_V void probabilities_block(const int R, const int V, const float *q, long ldq, const float *kT, int tp, int t,
                               int kd, const float *bias, float *rows) {
    vf acc[QUERY_BLOCK][KEY_VECTORS];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < V; w++) acc[r][w] = vzero();
    for (int c = 0; c < kd; c++) {
        const float *kc = kT + (long)c * tp;
        vf kv[KEY_VECTORS];
        for (int w = 0; w < V; w++) kv[w] = vload(kc + VL * w);
        for (int r = 0; r < R; r++) {
            const vf qc = vset1(q[r * ldq + c]);
            for (int w = 0; w < V; w++) acc[r][w] = vfma(qc, kv[w], acc[r][w]);
        }
    }
    const int tail = t - VL * (V - 1);
    const vm last = vmask_n(tail);
    // Step by step over the R rows rather than row after row: each step's R chains (horizontal
    // reductions, exp) are independent, so they overlap instead of waiting on each other.
    vf shift[QUERY_BLOCK], sum[QUERY_BLOCK];
    for (int r = 0; r < R; r++) {
        if (bias) {
            const float *b = bias + (long)r * t;
            for (int w = 0; w < V - 1; w++) acc[r][w] = vadd(acc[r][w], vload(b + VL * w));
            acc[r][V - 1] = vadd(acc[r][V - 1], vload_n(b + VL * (V - 1), last, tail >= VL));
        }
        acc[r][V - 1] = vselect(last, acc[r][V - 1], vset1(-INFINITY));
        vf top = acc[r][0];
        for (int w = 1; w < V; w++) top = vmax(top, acc[r][w]);
        shift[r] = top;
    }
    for (int r = 0; r < R; r++) shift[r] = vset1(vhmax(shift[r]));
    for (int r = 0; r < R; r++) {
        // Padding lanes go into exp as 0 (their results are dropped), not as −∞.
        sum[r] = vzero();
        for (int w = 0; w < V - 1; w++) {
            acc[r][w] = vexp(vsub(acc[r][w], shift[r]));
            sum[r] = vadd(sum[r], acc[r][w]);
        }
        acc[r][V - 1] = vkeep(last, vexp(vkeep(last, vsub(acc[r][V - 1], shift[r]))));
        sum[r] = vadd(sum[r], acc[r][V - 1]);
    }
    for (int r = 0; r < R; r++) sum[r] = vset1(1.0f / vsum(sum[r]));
    for (int r = 0; r < R; r++) {
        for (int w = 0; w < V; w++) vstore(rows + (long)r * tp + VL * w, vmul(acc[r][w], sum[r]));
    }
}

// out rows i0 … i0+R−1, channels VL·u0 … VL·(u0+U)−1: Σ_j p_rj · v_j. Only with TAIL (a constant
// at each call site) is the last vector partial, `tail` channels, masked.
VIT_V void values_block(const int R, const int U, const int TAIL, const float *rows, int tp, const float *v, long ldv,
                        int t, int u0, int tail, float *out, long ldo) {
    const vm last = vmask_n(tail);
    vf acc[QUERY_BLOCK][VALUE_VECTORS];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < U; w++) acc[r][w] = vzero();
    for (int j = 0; j < t; j++) {
        const float *vj = v + j * ldv + VL * u0;
        vf vv[VALUE_VECTORS];
        for (int w = 0; w < U; w++) vv[w] = TAIL && w == U - 1 ? vload_m(last, vj + VL * w) : vload(vj + VL * w);
        for (int r = 0; r < R; r++) {
            const vf p = vset1(rows[(long)r * tp + j]);
            for (int w = 0; w < U; w++) acc[r][w] = vfma(p, vv[w], acc[r][w]);
        }
    }
    for (int r = 0; r < R; r++) {
        float *o = out + r * ldo + VL * u0;
        for (int w = 0; w < U; w++) {
            if (TAIL && w == U - 1) vstore_m(o + VL * w, last, acc[r][w]);
            else vstore(o + VL * w, acc[r][w]);
        }
    }
}

VIT_V void query_block(const int R, const float *q, long ldq, const float *kT, const float *v, long ldv,
                       const float *bias, int t, int kd, int vd, float *out, long ldo, float *rows) {
    const int tp = attention_padded(t);
    const int vectors = tp / VL;
    switch (vectors) {
#define PROBABILITIES(V) case V: probabilities_block(R, V, q, ldq, kT, tp, t, kd, bias, rows); break;
    PROBABILITIES(1) PROBABILITIES(2) PROBABILITIES(3) PROBABILITIES(4)
#if KEY_VECTORS >= 5
    PROBABILITIES(5)
#endif
#if KEY_VECTORS >= 6
    PROBABILITIES(6)
#endif
#if KEY_VECTORS >= 7
    PROBABILITIES(7)
#endif
#if KEY_VECTORS >= 8
    PROBABILITIES(8)
#endif
#undef PROBABILITIES
    default: break;
    }
    if (vectors > KEY_VECTORS) {
        int v0 = 0;
        for (; v0 + KEY_VECTORS <= vectors; v0 += KEY_VECTORS) scores_block(R, KEY_VECTORS, q, ldq, kT, tp, kd, v0, rows);
        for (; v0 < vectors; v0++) scores_block(R, 1, q, ldq, kT, tp, kd, v0, rows);
    }
    if (vectors > KEY_VECTORS) {
        for (int r = 0; r < R; r++) vit_softmax_rows(rows + (long)r * tp, bias ? bias + (long)r * t : NULL, 1, t);
    }
    const int channelVectors = (vd + VL - 1) / VL;
    for (int u0 = 0; u0 < channelVectors; u0 += VALUE_VECTORS) {
        const int U = channelVectors - u0 < VALUE_VECTORS ? channelVectors - u0 : VALUE_VECTORS;
        const int tail = vd - VL * (u0 + U - 1);
#define VALUES(U, TAIL) values_block(R, U, TAIL, rows, tp, v, ldv, t, u0, tail, out, ldo)
        switch (U * 2 + (tail < VL)) {
        case 2: VALUES(1, 0); break;
        case 3: VALUES(1, 1); break;
        case 4: VALUES(2, 0); break;
        case 5: VALUES(2, 1); break;
        case 6: VALUES(3, 0); break;
        case 7: VALUES(3, 1); break;
        case 9: VALUES(VALUE_VECTORS, 1); break;
        default: VALUES(VALUE_VECTORS, 0); break;
        }
#undef VALUES
    }
}

/// vit_backend.attention_head: scratch holds the keys transposed ([kd][tp], zero past t), the
/// block's score rows ([QUERY_BLOCK][tp]) and the scaled queries ([t][kd]).
TIER_FN static void attention_head(const float *q, long ldq, const float *k, long ldk, const float *v, long ldv,
                                   const float *bias, int t, int kd, int vd, float scale, float *out, long ldo,
                                   float *scratch) {
    const int tp = attention_padded(t);
    float *kT = scratch;
    float *rows = kT + (long)kd * tp;
    float *scaled = rows + (long)QUERY_BLOCK * tp;  // q · scale, once per element
    for (int i = 0; i < t; i++) {
        for (int c = 0; c < kd; c += VL) {
            const vm m = vmask_n(kd - c);
            const int whole = kd - c >= VL;
            vstore_n(scaled + (long)i * kd + c, m, whole, vmul(vload_n(q + i * ldq + c, m, whole), vset1(scale)));
        }
    }
    q = scaled;
    ldq = kd;
    for (int c = 0; c < kd; c++) {
        float *dst = kT + (long)c * tp;
        for (int j = 0; j < t; j++) dst[j] = k[j * ldk + c];
        for (int j = t; j < tp; j++) dst[j] = 0;
    }
    int i = 0;
#ifdef ATTENTION_SINGLE_QUERIES
    // A tier may take queries one at a time for some value widths (ATTENTION_SINGLE_QUERIES(vd)):
    // with few registers, two queries' scores spill where one query's fit.
    if (ATTENTION_SINGLE_QUERIES(vd)) {
        for (; i < t; i++)
            query_block(1, q + i * ldq, ldq, kT, v, ldv, bias ? bias + (long)i * t : NULL, t, kd, vd, out + i * ldo,
                        ldo, rows);
        return;
    }
#endif
    for (; i + QUERY_BLOCK <= t; i += QUERY_BLOCK)
        query_block(QUERY_BLOCK, q + i * ldq, ldq, kT, v, ldv, bias ? bias + (long)i * t : NULL, t, kd, vd,
                    out + i * ldo, ldo, rows);
    const float *bi = bias ? bias + (long)i * t : NULL;
    switch (t - i) {
    case 1: query_block(1, q + i * ldq, ldq, kT, v, ldv, bi, t, kd, vd, out + i * ldo, ldo, rows); break;
#if QUERY_BLOCK > 2
    case 2: query_block(2, q + i * ldq, ldq, kT, v, ldv, bi, t, kd, vd, out + i * ldo, ldo, rows); break;
#endif
#if QUERY_BLOCK > 3
    case 3: query_block(3, q + i * ldq, ldq, kT, v, ldv, bi, t, kd, vd, out + i * ldo, ldo, rows); break;
#endif
    default: break;
    }
}

#endif
