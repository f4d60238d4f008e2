/* 16-bit SIMD primitives of the Armv7E-M DSP extension, with a portable C fallback.
 *
 * The optimized int8 kernels (opt_s8.h) are written once against these names: on Cortex-M4/M7/
 * M33 they are the single instructions SXTB16, SXTAB16, SMLAD, SMLABB, SMLATT; elsewhere (the host, where
 * the same kernels are tested bit-exact against TFLM) they are plain C with the same integer
 * results (wrap-around sums, as the instructions have). Written for this project.
 */
#ifndef HIL_SIMD_H
#define HIL_SIMD_H

#include <stdint.h>

#if (defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP) || (defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT)
#include <arm_acle.h>
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define HIL_SIMD_NATIVE 1
/* (int16)b0 | (int16)b2 << 16 */
static inline uint32_t hil_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int8x4_t)x); }
/* (int16)b1 | (int16)b3 << 16 (SXTB16 with ROR #8: one instruction) */
static inline uint32_t hil_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); /* gcc 12 does not fold the rotation itself */
    return r;
}
static inline int32_t hil_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    return __smlad((int16x2_t)x, (int16x2_t)y, acc);
}
static inline int32_t hil_smlabb(uint32_t x, uint32_t y, int32_t acc) { return __smlabb((int32_t)x, (int32_t)y, acc); }
static inline int32_t hil_smlatt(uint32_t x, uint32_t y, int32_t acc) { return __smlatt((int32_t)x, (int32_t)y, acc); }
/* acc + sign-extended bytes 0,2 (bytes 1,3 with ror8) of x, per 16-bit lane (wrapping) */
static inline uint32_t hil_sxtab16(uint32_t acc, uint32_t x) { return (uint32_t)__sxtab16((int16x2_t)acc, (int8x4_t)x); }
static inline uint32_t hil_sxtab16_ror8(uint32_t acc, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
#else
#define HIL_SIMD_NATIVE 0
static inline uint32_t hil_sxtb16(uint32_t x)
{
    return ((uint32_t)(uint16_t)(int16_t)(int8_t)(x & 0xFFu)) | ((uint32_t)(uint16_t)(int16_t)(int8_t)((x >> 16) & 0xFFu) << 16);
}
static inline uint32_t hil_sxtb16_ror8(uint32_t x) { return hil_sxtb16((x >> 8) | (x << 24)); }
static inline int32_t hil_lo16(uint32_t x) { return (int32_t)(int16_t)(x & 0xFFFFu); }
static inline int32_t hil_hi16(uint32_t x) { return (int32_t)(int16_t)(x >> 16); }
static inline int32_t hil_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hil_lo16(x) * hil_lo16(y)) + (uint32_t)(hil_hi16(x) * hil_hi16(y)));
}
static inline int32_t hil_smlabb(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hil_lo16(x) * hil_lo16(y)));
}
static inline int32_t hil_smlatt(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hil_hi16(x) * hil_hi16(y)));
}
static inline uint32_t hil_sxtab16(uint32_t acc, uint32_t x)
{
    const uint32_t e = hil_sxtb16(x);
    return ((acc + e) & 0xFFFFu) | (((acc >> 16) + (e >> 16)) << 16);
}
static inline uint32_t hil_sxtab16_ror8(uint32_t acc, uint32_t x) { return hil_sxtab16(acc, (x >> 8) | (x << 24)); }
#endif

static inline uint32_t hil_load32(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4); /* one LDR on cores with unaligned access */
    return v;
}

/* two words from a 4-byte aligned address (one LDRD on the Armv7-M cores) */
typedef uint64_t __attribute__((may_alias, aligned(4))) hil_u64_a4;
static inline uint64_t hil_load64(const uint32_t *p)
{
    return *(const hil_u64_a4 *)(const void *)p;
}

#endif /* HIL_SIMD_H */
