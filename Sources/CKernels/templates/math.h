// exp, erf and GELU on one vector of the including tier (its simd.h): the same operations in the
// same order on every tier, so a tier's lanes give the bits of any other's.
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

#ifdef VIT_ERF_POLYNOMIAL
/// erf(x) lane-wise, for a tier whose simd.h asks for it (VIT_ERF_POLYNOMIAL, and vabs,
/// vcopysign, vselect_lt): no vector libm needed. Within 1.08 ulp of the true value with fused
/// multiply-adds, 1.24 ulp without, and within 1 ulp of glibc's erff (every float measured:
/// scripts/kernels/erf_sweep.c); exactly ±1 from |x| = 4 on (and for ±∞), NaN stays NaN.
/// Coefficients: scripts/kernels/fit_erf.py.
///   |x| < 15/16:  x + x · P(x²), P ≈ erf(x)/x − 1 (|P| ≤ 0.13, so the one rounding of the
///                 final multiply-add dominates);
///   |x| ≥ 15/16:  1 − exp(−a² + S(a − 2.5)), a = min(|x|, 4), S ≈ log(erfc(a)) + a², smooth
///                 on [15/16, 4]; erfc ≤ 0.19 there, so exp's error shrinks by that much in the
///                 result. a − 2.5 is exact (Sterbenz), −a² + S one rounding where FMA fuses it.
/// Both branches run on every lane and a select keeps one (a NaN fails |x| < 15/16 and goes
/// through the second, which keeps it).
VIT_V vf verf(vf x) {
    const vf a = vabs(x);
    const vf t = vmul(x, x);
    vf p = vset1(8.296612941e-05f);
    p = vfma(p, t, vset1(-8.125806926e-04f));
    p = vfma(p, t, vset1(5.199600011e-03f));
    p = vfma(p, t, vset1(-2.685885131e-02f));
    p = vfma(p, t, vset1(1.128368601e-01f));
    p = vfma(p, t, vset1(-3.761263192e-01f));
    p = vfma(p, t, vset1(1.283791661e-01f));
    const vf small = vfma(x, p, x);
    const vf clamped = vmin(vset1(4.0f), a);  // the second operand (NaN) when a is NaN
    const vf u = vsub(clamped, vset1(2.5f));
    vf s = vset1(1.602438715e-06f);
    s = vfma(s, u, vset1(-1.330472423e-05f));
    s = vfma(s, u, vset1(7.744598406e-05f));
    s = vfma(s, u, vset1(-4.201637057e-04f));
    s = vfma(s, u, vset1(2.165090526e-03f));
    s = vfma(s, u, vset1(-1.085849572e-02f));
    s = vfma(s, u, vset1(5.610638857e-02f));
    s = vfma(s, u, vset1(-3.526806831e-01f));
    s = vfma(s, u, vset1(-1.556815267e+00f));
    const vf large = vcopysign(vsub(vset1(1.0f), vexp(vfnma(clamped, clamped, s))), x);
    return vselect_lt(a, vset1(0.9375f), small, large);
}
#endif

/// PyTorch's exact GELU, x · 0.5 · (1 + erf(x / √2)), in PyTorch's order of operations.
VIT_V vf vgelu(vf x) {
    const vf e = verf(vmul(x, vset1((float)M_SQRT1_2)));
    return vmul(vmul(x, vset1(0.5f)), vadd(vset1(1.0f), e));
}

/// act (one of VIT_ACT_*) lane-wise.
VIT_V vf vactivate(vf v, int act) {
    // vmax returns its second operand when either is NaN, so NaN passes ReLU as in PyTorch.
    if (act == VIT_ACT_RELU) return vmax(vzero(), v);
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
