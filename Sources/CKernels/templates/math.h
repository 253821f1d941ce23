// exp and GELU on one vector of the including tier (its simd.h): the same operations in the same
// order on every tier, so a tier's lanes give the bits of any other's.
#ifndef VIT_TEMPLATE_MATH_H
#define VIT_TEMPLATE_MATH_H

/// exp(x) lane-wise, within 1.3 ulp of the true value (measured on every 7th float of
/// [−120, 100]; denormal results round as libm's do, +inf above 88.73, NaN stays NaN).
/// Softmax's exp, inlined: libmvec's expf cost about 30 cycles a vector through its call and
/// special-case checks, a third of a 7×7-window attention head; this is 14 instructions.
/// exp(x) = 2ⁿ · exp(r) with n = round(x / ln 2) and r = x − n · ln 2 (ln 2 in two parts, so
/// n · ln2_hi is exact), |r| ≤ ln 2 / 2, where exp(r) is Cephes' expf polynomial
/// 1 + r + r² · P(r); 2ⁿ is applied with IEEE overflow and gradual underflow.
VIT_V vf vexp(vf x) {
    x = vmax(vset1(-110.0f), x);  // the second operand is returned for NaN
    x = vmin(vset1(89.0f), x);
    const vf n = vround(vmul(x, vset1(1.44269504088896341f)));
    vf r = vfnma(n, vset1(0.693359375f), x);
    r = vfnma(n, vset1(-2.12194440e-4f), r);
    vf p = vset1(1.9875691500e-4f);
    p = vfma(p, r, vset1(1.3981999507e-3f));
    p = vfma(p, r, vset1(8.3334519073e-3f));
    p = vfma(p, r, vset1(4.1665795894e-2f));
    p = vfma(p, r, vset1(1.6666665459e-1f));
    p = vfma(p, r, vset1(5.0000001201e-1f));
    p = vfma(p, vmul(r, r), vadd(r, vset1(1.0f)));
    return vscale2n(p, n);
}

/// PyTorch's exact GELU, x · 0.5 · (1 + erf(x / √2)), in PyTorch's order of operations.
VIT_V vf vgelu(vf x) {
    const vf e = verf(vmul(x, vset1((float)M_SQRT1_2)));
    return vmul(vmul(x, vset1(0.5f)), vadd(vset1(1.0f), e));
}

/// act (one of VIT_ACT_*) lane-wise.
VIT_V vf vactivate(vf v, int act) {
    if (act == VIT_ACT_RELU) return vmax(v, vzero());
    if (act == VIT_ACT_GELU) return vgelu(v);
    return v;
}

/// A vector of n ≤ VL valid floats at p (the rest zero, and not read): a plain load when full.
VIT_V vf vload_n(const float *p, vm mask, int full) { return VIT_MASKS_ARE_FREE || !full ? vload_m(mask, p) : vload(p); }

/// Stores the lanes of mask (all when full).
VIT_V void vstore_n(float *p, vm mask, int full, vf v) {
    if (VIT_MASKS_ARE_FREE || !full) vstore_m(p, mask, v);
    else vstore(p, v);
}

#endif
