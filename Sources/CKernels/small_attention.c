// One attention head over a short sequence (a local window: 16–64 tokens, 16–64-dim heads), in
// one pass that keeps scores in registers and L1.
//
// Why not two BLAS calls: at these sizes (EfficientViT's 7×7 windows with 16-dim keys, a few
// thousand FMAs per product) sgemm spends more time in call overhead, packing and edge handling
// than in arithmetic; the whole head fits in registers and the key matrix, transposed once,
// feeds 16 scores per FMA.
//
// Arithmetic (the same in both paths and for every query, so results do not depend on how a
// layer is cut into work items): s_ij = Σ_c (q_ic · scale) · k_jc in c order, + bias_ij;
// p_ij = exp(s_ij − max_j s_ij) / Σ_j exp(…), i.e. vit_softmax_rows; out_i = Σ_j p_ij · v_j in
// j order.
#include "CKernels.h"
#include "vector_math.h"

#include <immintrin.h>
#include <math.h>

#define QUERY_BLOCK 4   // queries whose scores and outputs share each loaded key and value
#define KEY_VECTORS 4   // 16-key vectors of scores held in registers per query
#define VALUE_VECTORS 4 // 16-channel vectors of output held in registers per query

static int padded(int t) { return (t + 15) & ~15; }

long vit_attention_head_scratch_count(int t, int key_dim) {
    return (long)key_dim * padded(t) + (long)QUERY_BLOCK * padded(t) + (long)t * key_dim;
}

static void attention_portable(const float *q, long ldq, const float *k, long ldk, const float *v, long ldv,
                               const float *bias, int t, int kd, int vd, float scale, float *out, long ldo,
                               float *scratch) {
    float *row = scratch;
    for (int i = 0; i < t; i++) {
        const float *qi = q + i * ldq;
        for (int j = 0; j < t; j++) {
            const float *kj = k + j * ldk;
            float s = 0;
            for (int c = 0; c < kd; c++) s += (qi[c] * scale) * kj[c];
            row[j] = s;
        }
        vit_softmax_rows(row, bias ? bias + (long)i * t : NULL, 1, t);
        float *oi = out + i * ldo;
        for (int c = 0; c < vd; c++) oi[c] = 0;
        for (int j = 0; j < t; j++) {
            const float p = row[j];
            const float *vj = v + j * ldv;
            for (int c = 0; c < vd; c++) oi[c] += p * vj[c];
        }
    }
}

// Scores of queries i0 … i0+R−1 against keys 16·v0 … 16·(v0+V)−1: R·V accumulators in
// registers, one broadcast of each scaled query element, one load of each key vector.
__attribute__((target("avx512f"), always_inline))
static inline void scores_block(const int R, const int V, const float *q, long ldq, const float *kT, int tp,
                                int kd, float scale, int v0, float *rows) {
    __m512 acc[QUERY_BLOCK][KEY_VECTORS];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < V; w++) acc[r][w] = _mm512_setzero_ps();
    for (int c = 0; c < kd; c++) {
        const float *kc = kT + (long)c * tp + 16 * v0;
        __m512 kv[KEY_VECTORS];
        for (int w = 0; w < V; w++) kv[w] = _mm512_loadu_ps(kc + 16 * w);
        for (int r = 0; r < R; r++) {
            const __m512 qc = _mm512_set1_ps(q[r * ldq + c]);
            for (int w = 0; w < V; w++) acc[r][w] = _mm512_fmadd_ps(qc, kv[w], acc[r][w]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int w = 0; w < V; w++) _mm512_storeu_ps(rows + (long)r * tp + 16 * (v0 + w), acc[r][w]);
}

// Scores and softmax of queries i0 … i0+R−1 when a whole row of scores fits in registers
// (t ≤ 16·KEY_VECTORS): the arithmetic of vit_softmax_rows (and vit_exp_row: lane-wise
// partial sums in 16-key order, then one horizontal sum) without a trip through memory.
__attribute__((target("avx512f"), always_inline))
static inline void probabilities_block(const int R, const int V, const float *q, long ldq, const float *kT,
                                       int tp, int t, int kd, float scale, const float *bias, float *rows) {
    __m512 acc[QUERY_BLOCK][KEY_VECTORS];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < V; w++) acc[r][w] = _mm512_setzero_ps();
    for (int c = 0; c < kd; c++) {
        const float *kc = kT + (long)c * tp;
        __m512 kv[KEY_VECTORS];
        for (int w = 0; w < V; w++) kv[w] = _mm512_loadu_ps(kc + 16 * w);
        for (int r = 0; r < R; r++) {
            const __m512 qc = _mm512_set1_ps(q[r * ldq + c]);
            for (int w = 0; w < V; w++) acc[r][w] = _mm512_fmadd_ps(qc, kv[w], acc[r][w]);
        }
    }
    const int tail = t - 16 * (V - 1);
    const __mmask16 last = (__mmask16)(tail >= 16 ? 0xFFFF : (1u << tail) - 1);
    // Step by step over the R rows rather than row after row: each step's R chains (horizontal
    // reductions, exp) are independent, so they overlap instead of waiting on each other.
    __m512 shift[QUERY_BLOCK], sum[QUERY_BLOCK];
    for (int r = 0; r < R; r++) {
        if (bias) {
            for (int w = 0; w < V; w++) {
                const float *b = bias + (long)r * t + 16 * w;
                const __m512 bv = w == V - 1 ? _mm512_maskz_loadu_ps(last, b) : _mm512_loadu_ps(b);
                acc[r][w] = _mm512_add_ps(acc[r][w], bv);
            }
        }
        acc[r][V - 1] = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), last, acc[r][V - 1]);
        __m512 top = acc[r][0];
        for (int w = 1; w < V; w++) top = _mm512_max_ps(top, acc[r][w]);
        shift[r] = top;
    }
    for (int r = 0; r < R; r++) shift[r] = _mm512_set1_ps(_mm512_reduce_max_ps(shift[r]));
    for (int r = 0; r < R; r++) {
        // Padding lanes go into exp as 0 (their results are dropped), not as −∞.
        sum[r] = _mm512_setzero_ps();
        for (int w = 0; w < V - 1; w++) {
            acc[r][w] = vit_exp16(_mm512_sub_ps(acc[r][w], shift[r]));
            sum[r] = _mm512_add_ps(sum[r], acc[r][w]);
        }
        acc[r][V - 1] = _mm512_maskz_mov_ps(last, vit_exp16(_mm512_maskz_sub_ps(last, acc[r][V - 1], shift[r])));
        sum[r] = _mm512_add_ps(sum[r], acc[r][V - 1]);
    }
    for (int r = 0; r < R; r++) sum[r] = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum[r]));
    for (int r = 0; r < R; r++) {
        for (int w = 0; w < V; w++)
            _mm512_storeu_ps(rows + (long)r * tp + 16 * w, _mm512_mul_ps(acc[r][w], sum[r]));
    }
}

// out rows i0 … i0+R−1, channels 16·u0 … 16·(u0+U)−1 (the last vector masked): Σ_j p_rj · v_j.
__attribute__((target("avx512f"), always_inline))
static inline void values_block(const int R, const int U, const float *rows, int tp, const float *v, long ldv,
                                int t, int u0, __mmask16 last, float *out, long ldo) {
    __m512 acc[QUERY_BLOCK][VALUE_VECTORS];
    for (int r = 0; r < R; r++)
        for (int w = 0; w < U; w++) acc[r][w] = _mm512_setzero_ps();
    for (int j = 0; j < t; j++) {
        const float *vj = v + j * ldv + 16 * u0;
        __m512 vv[VALUE_VECTORS];
        for (int w = 0; w < U; w++)
            vv[w] = w == U - 1 ? _mm512_maskz_loadu_ps(last, vj + 16 * w) : _mm512_loadu_ps(vj + 16 * w);
        for (int r = 0; r < R; r++) {
            const __m512 p = _mm512_set1_ps(rows[(long)r * tp + j]);
            for (int w = 0; w < U; w++) acc[r][w] = _mm512_fmadd_ps(p, vv[w], acc[r][w]);
        }
    }
    for (int r = 0; r < R; r++) {
        float *o = out + r * ldo + 16 * u0;
        for (int w = 0; w < U; w++) {
            if (w == U - 1) _mm512_mask_storeu_ps(o + 16 * w, last, acc[r][w]);
            else _mm512_storeu_ps(o + 16 * w, acc[r][w]);
        }
    }
}

__attribute__((target("avx512f"), always_inline))
static inline void query_block(const int R, const float *q, long ldq, const float *kT, const float *v, long ldv,
                               const float *bias, int t, int kd, int vd, float scale, float *out, long ldo,
                               float *rows) {
    const int tp = padded(t);
    const int vectors = tp / 16;
    switch (vectors) {
    case 1: probabilities_block(R, 1, q, ldq, kT, tp, t, kd, scale, bias, rows); break;
    case 2: probabilities_block(R, 2, q, ldq, kT, tp, t, kd, scale, bias, rows); break;
    case 3: probabilities_block(R, 3, q, ldq, kT, tp, t, kd, scale, bias, rows); break;
    case 4: probabilities_block(R, 4, q, ldq, kT, tp, t, kd, scale, bias, rows); break;
    default: break;
    }
    for (int v0 = 0; vectors > KEY_VECTORS && v0 < vectors; v0 += KEY_VECTORS) {
        const int V = vectors - v0 < KEY_VECTORS ? vectors - v0 : KEY_VECTORS;
        switch (V) {
        case 1: scores_block(R, 1, q, ldq, kT, tp, kd, scale, v0, rows); break;
        case 2: scores_block(R, 2, q, ldq, kT, tp, kd, scale, v0, rows); break;
        case 3: scores_block(R, 3, q, ldq, kT, tp, kd, scale, v0, rows); break;
        default: scores_block(R, 4, q, ldq, kT, tp, kd, scale, v0, rows); break;
        }
    }
    if (vectors > KEY_VECTORS) {
        for (int r = 0; r < R; r++) vit_softmax_rows(rows + (long)r * tp, bias ? bias + (long)r * t : NULL, 1, t);
    }
    const int channelVectors = (vd + 15) / 16;
    for (int u0 = 0; u0 < channelVectors; u0 += VALUE_VECTORS) {
        const int U = channelVectors - u0 < VALUE_VECTORS ? channelVectors - u0 : VALUE_VECTORS;
        const int tail = vd - 16 * (u0 + U - 1);
        const __mmask16 last = (__mmask16)(tail >= 16 ? 0xFFFF : (1u << tail) - 1);
        switch (U) {
        case 1: values_block(R, 1, rows, tp, v, ldv, t, u0, last, out, ldo); break;
        case 2: values_block(R, 2, rows, tp, v, ldv, t, u0, last, out, ldo); break;
        case 3: values_block(R, 3, rows, tp, v, ldv, t, u0, last, out, ldo); break;
        default: values_block(R, 4, rows, tp, v, ldv, t, u0, last, out, ldo); break;
        }
    }
}

__attribute__((target("avx512f")))
static void attention_avx512(const float *q, long ldq, const float *k, long ldk, const float *v, long ldv,
                             const float *bias, int t, int kd, int vd, float scale, float *out, long ldo,
                             float *scratch) {
    const int tp = padded(t);
    float *kT = scratch;          // [kd][tp], zero past t
    float *rows = kT + (long)kd * tp;  // [QUERY_BLOCK][tp]
    float *scaled = rows + (long)QUERY_BLOCK * tp;  // [t][kd]: q · scale, once per element
    for (int i = 0; i < t; i++) {
        for (int c = 0; c < kd; c += 16) {
            const __mmask16 m = (__mmask16)(kd - c >= 16 ? 0xFFFF : (1u << (kd - c)) - 1);
            _mm512_mask_storeu_ps(scaled + (long)i * kd + c, m,
                                  _mm512_mul_ps(_mm512_maskz_loadu_ps(m, q + i * ldq + c), _mm512_set1_ps(scale)));
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
    for (; i + QUERY_BLOCK <= t; i += QUERY_BLOCK)
        query_block(QUERY_BLOCK, q + i * ldq, ldq, kT, v, ldv, bias ? bias + (long)i * t : NULL, t, kd, vd,
                    scale, out + i * ldo, ldo, rows);
    const float *bi = bias ? bias + (long)i * t : NULL;
    switch (t - i) {
    case 1: query_block(1, q + i * ldq, ldq, kT, v, ldv, bi, t, kd, vd, scale, out + i * ldo, ldo, rows); break;
    case 2: query_block(2, q + i * ldq, ldq, kT, v, ldv, bi, t, kd, vd, scale, out + i * ldo, ldo, rows); break;
    case 3: query_block(3, q + i * ldq, ldq, kT, v, ldv, bi, t, kd, vd, scale, out + i * ldo, ldo, rows); break;
    default: break;
    }
}

void vit_attention_head(const float *q, long ldq, const float *k, long ldk, const float *v, long ldv,
                        const float *bias, int t, int key_dim, int value_dim, float scale, float *out, long ldo,
                        float *scratch) {
    if (vit_kernels_use_avx512()) {
        attention_avx512(q, ldq, k, ldk, v, ldv, bias, t, key_dim, value_dim, scale, out, ldo, scratch);
    } else {
        attention_portable(q, ldq, k, ldk, v, ldv, bias, t, key_dim, value_dim, scale, out, ldo, scratch);
    }
}
