// Row-wise elementwise kernels for the including tier (its simd.h and templates/math.h before
// this file; TIER_FN its functions' attributes). A row's last n % VL elements go through the same
// vector function on a partial vector, so every element is computed the same way wherever the row
// starts (results do not depend on how a layer is cut into work items).
#ifndef VIT_TEMPLATE_ROWS_H
#define VIT_TEMPLATE_ROWS_H

/// vit_backend.gelu_row.
TIER_FN static void gelu_row(float *x, int n) {
    int i = 0;
    for (; i + VL <= n; i += VL) vstore(x + i, vgelu(vload(x + i)));
    if (i < n) {
        const vm m = vmask_n(n - i);
        vstore_m(x + i, m, vgelu(vload_m(m, x + i)));
    }
}

/// vit_backend.exp_row: x[i] = exp(x[i] − shift); returns the sum of the results (lane-wise
/// partial sums, then one horizontal sum).
TIER_FN static float exp_row(float *x, int n, float shift) {
    const vf s = vset1(shift);
    vf sum = vzero();
    int i = 0;
    for (; i + VL <= n; i += VL) {
        const vf e = vexp(vsub(vload(x + i), s));
        vstore(x + i, e);
        sum = vadd(sum, e);
    }
    if (i < n) {
        const vm m = vmask_n(n - i);
        const vf e = vexp(vsub(vload_m(m, x + i), s));
        vstore_m(x + i, m, e);
        sum = vadd(sum, vkeep(m, e));
    }
    return vsum(sum);
}

// Sum of n floats (or of their squared distances from `shift`) in 16 interleaved partial sums
// (lane j adds elements j, j + 16, …), then those 16 in order: the loop vectorizes without
// -ffast-math, and the order is fixed, so every tier gives the same bits.
VIT_V float lane_sum(const float *restrict x, int n, float shift, int squares) {
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        for (int j = 0; j < 16; j++) {
            const float d = x[i + j] - shift;
            acc[j] += squares ? d * d : d;
        }
    }
    for (int j = 0; i + j < n; j++) {
        const float d = x[i + j] - shift;
        acc[j] += squares ? d * d : d;
    }
    float total = 0;
    for (int j = 0; j < 16; j++) total += acc[j];
    return total;
}

/// vit_backend.layer_norm_rows: two passes (mean, then the centred sum of squares), as exact as
/// Welford in float for rows this short, then (x − mean) · rstd · gamma + beta.
TIER_FN static void layer_norm_rows(const float *x, long ldx, int rows, int cols, const float *restrict gamma,
                                    const float *restrict beta, float eps, float *out, long ldo) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * ldx;
        float *o = out + (long)r * ldo;
        const float mean = lane_sum(xr, cols, 0.0f, 0) / (float)cols;
        const float rstd = 1.0f / sqrtf(lane_sum(xr, cols, mean, 1) / (float)cols + eps);
        for (int c = 0; c < cols; c++) o[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
    }
}

#endif
