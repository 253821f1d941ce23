// Conversions between Float and the two 16-bit float formats found in weight files.
//
// Done with integer bit manipulation rather than the `Float16` type because `Float16` is missing
// on some platforms (notably macOS on x86_64), and because spelling out the rounding makes the
// round-to-nearest-even behaviour explicit and testable everywhere.

/// Converts IEEE 754 binary16 bits to a Float. Exact for every input: subnormals become normal
/// floats, ±inf stays ±inf and NaN stays NaN (payload kept in the top mantissa bits).
func halfBitsToFloat(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x03FF)

    if exponent == 0x1F {
        // Inf (mantissa 0) or NaN: widen the payload so a NaN never turns into an infinity.
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }  // ±0
        // Subnormal half: value = mantissa × 2^-24. Both factors are exact in Float, and so is
        // their product (at most 10 significant bits, well inside Float's normal range).
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    }
    // Normal: re-bias the exponent from 15 to 127 and widen the mantissa from 10 to 23 bits.
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// Converts a Float to IEEE 754 binary16 bits, rounding to nearest with ties to even.
/// Magnitudes that round past 65504 become ±inf; tiny ones become subnormals or ±0; NaN stays a
/// (quiet) NaN.
func floatToHalfBits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xFF)
    let mantissa = bits & 0x7F_FFFF

    if exponent == 0xFF {
        if mantissa == 0 { return sign | 0x7C00 }
        // Keep what fits of the payload but force the quiet bit: truncating the payload could
        // otherwise leave an all-zero mantissa, which would read back as infinity.
        return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
    }

    let halfExponent = exponent - 127 + 15
    if halfExponent >= 0x1F { return sign | 0x7C00 }  // too large even before rounding

    if halfExponent <= 0 {
        // Result is subnormal (or zero). Below 2^-25 everything rounds to zero, including the
        // exact tie at 2^-25 (it rounds to the even value, 0).
        if halfExponent < -10 { return sign }
        let significand = mantissa | 0x80_0000  // restore the implicit leading 1
        let shift = UInt32(14 - halfExponent)   // 14...24
        return sign | UInt16(truncatingIfNeeded: roundShiftRightEven(significand, by: shift))
        // A carry out of the subnormal range yields 0x0400, the smallest normal: still correct.
    }

    // Normal: drop 13 mantissa bits with rounding. A carry may ripple into the exponent, which is
    // exactly right, up to and including overflow to infinity (0x7C00).
    let combined = (UInt32(halfExponent) << 10) | (mantissa >> 13)
    let rounded = combined + roundingIncrement(remainder: mantissa & 0x1FFF, halfway: 0x1000, lsb: combined)
    return sign | UInt16(truncatingIfNeeded: rounded)
}

/// Converts bfloat16 bits to a Float. bfloat16 is the top half of a binary32, so this is exact.
func bfloat16BitsToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Converts a Float to bfloat16 bits, rounding to nearest with ties to even; NaN stays a quiet NaN
/// and values rounding past the largest bfloat16 become ±inf.
func floatToBFloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN {
        // Rounding could carry a NaN payload into infinity; force the quiet bit instead.
        return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
    }
    let upper = bits >> 16
    let rounded = upper + roundingIncrement(remainder: bits & 0xFFFF, halfway: 0x8000, lsb: upper)
    return UInt16(truncatingIfNeeded: rounded)
}

/// Shifts `value` right by `shift` bits (1...31), rounding to nearest, ties to even.
private func roundShiftRightEven(_ value: UInt32, by shift: UInt32) -> UInt32 {
    let kept = value >> shift
    let remainder = value & ((1 << shift) - 1)
    return kept + roundingIncrement(remainder: remainder, halfway: 1 << (shift - 1), lsb: kept)
}

/// 1 when discarding `remainder` should round the kept bits up under ties-to-even, else 0.
private func roundingIncrement(remainder: UInt32, halfway: UInt32, lsb kept: UInt32) -> UInt32 {
    (remainder > halfway || (remainder == halfway && kept & 1 == 1)) ? 1 : 0
}
