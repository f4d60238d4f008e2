/* Fixed-point helpers shared by the generated kernels.
 *
 * The arithmetic follows the definitions TFLM's reference kernels use (gemmlowp-style
 * saturating rounding doubling high multiply, round-half-away power-of-two division,
 * "double rounding" requantization, and the 16-bit reduced multiplier of the int16x8 path),
 * so the generated code is bit-exact with the TFLM runtime. Written for this project.
 */
#ifndef HIL_FIXEDPOINT_H
#define HIL_FIXEDPOINT_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#define HIL_HAVE_SIMD32 1
#endif

#define HIL_INT32_MIN ((int32_t)0x80000000)
#define HIL_INT32_MAX ((int32_t)0x7FFFFFFF)

static inline int32_t hil_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t hil_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t hil_clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* The taps [*k0, *k1) of a window of k taps, first at `start`, `dil` apart, that fall inside
 * [0, size): convolution borders visit only these (TFLM skips taps in the padding). */
static inline void hil_taps_inside(int32_t start, int32_t k, int32_t dil, int32_t size, int32_t *k0, int32_t *k1)
{
    int32_t a = 0, b = k;
    while (a < b && start + a * dil < 0) {
        ++a;
    }
    while (b > a && start + (b - 1) * dil >= size) {
        --b;
    }
    *k0 = a;
    *k1 = b;
}

/* round(a * b / 2^31) with ties away from zero, saturating the single overflow case. */
static inline int32_t hil_srdhm(int32_t a, int32_t b)
{
    if (a == HIL_INT32_MIN && b == HIL_INT32_MIN) {
        return HIL_INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t v = ab + (ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30)));
    /* truncating division by 2^31 without a 64-bit divide */
    if (v < 0) {
        v += (int64_t)0x7FFFFFFF;
    }
    return (int32_t)(v >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero (exponent 0..31). */
static inline int32_t hil_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent with saturation (exponent > 0). */
static inline int32_t hil_sat_lshift(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((((int64_t)1) << (31 - exponent)) - 1);
    if (x > threshold) {
        return HIL_INT32_MAX;
    }
    if (x < -threshold) {
        return HIL_INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* Requantize an int32 accumulator: m * 2^(shift-31), rounding twice as TFLM does. */
static inline int32_t hil_mbqm(int32_t x, int32_t m, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return hil_rdbpot(hil_srdhm((int32_t)((uint32_t)x << left), m), right);
}

/* As hil_mbqm for multipliers > 1 (left shift only). */
static inline int32_t hil_mbqm_gt1(int32_t x, int32_t m, int32_t left_shift)
{
    return hil_srdhm((int32_t)((uint32_t)x << left_shift), m);
}

/* Requantize an int64 accumulator (int16x8 path): 16-bit reduced multiplier, one rounding. */
static inline int32_t hil_mbqm64(int64_t x, int32_t m, int32_t shift)
{
    const int32_t reduced = m < 0x7FFF0000 ? ((m + (1 << 15)) >> 16) : 0x7FFF;
    const int total_shift = 15 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)((x * reduced + round) >> total_shift);
}

static inline int32_t hil_clz32(uint32_t x)
{
    return x == 0u ? 32 : __builtin_clz(x);
}

/* sum(a[i] * b[i]) over int8 vectors. Cores with the 32-bit SIMD instructions (Cortex-M4/M7/
 * M33 with DSP) take four bytes per load and two multiply-accumulates per SMLAD; integer sums
 * are exact, so the result is the same on every core. */
static inline int32_t hil_dot_s8(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
#ifdef HIL_HAVE_SIMD32
    for (; i + 4 <= n; i += 4) {
        uint32_t wa, wb;
        __builtin_memcpy(&wa, a + i, 4); /* unaligned-safe; inlined even with -ffreestanding */
        __builtin_memcpy(&wb, b + i, 4);
        const int16x2_t a02 = __sxtb16((int8x4_t)wa);            /* bytes 0 and 2 */
        const int16x2_t a13 = __sxtb16((int8x4_t)((wa >> 8) | (wa << 24))); /* bytes 1 and 3 */
        const int16x2_t b02 = __sxtb16((int8x4_t)wb);
        const int16x2_t b13 = __sxtb16((int8x4_t)((wb >> 8) | (wb << 24)));
        acc = __smlad(a02, b02, acc);
        acc = __smlad(a13, b13, acc);
    }
#endif
    for (; i < n; ++i) {
        acc += (int32_t)a[i] * (int32_t)b[i];
    }
    return acc;
}

#endif /* HIL_FIXEDPOINT_H */
