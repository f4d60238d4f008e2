/* Optimized int8 kernels: what the DSP (opt_dsp.h) and v6-M (opt_v6m.h) families share. The
 * generator (harness/codegen/optimized.py) picks one family per core and lists this header, the
 * family's header and hil_simd.h. Bit-exact with the portable kernels (and TFLM): only the order
 * of exact integer sums and the form of the requantization change. docs/kernels.md describes
 * each path and its cost.
 *
 * - Convolutions and FC are one matrix product: rows = output pixels (im2col, padding taps set to
 *   the input zero point) or FC batches, columns = output channels. The input zero point is folded
 *   into the bias at generation time (bias_eff), so every MAC is a plain x * w.
 * - Requantization: TFLM's double rounding, rewritten for a multiplier known to be >= 0 (so the
 *   saturating case cannot occur) and a per-channel right shift: same integer (hil_opt_rq,
 *   hil_opt_out).
 * - Functions are force-inlined into model.c, so every loop bound is a compile-time constant of the
 *   layer; with -Os (__OPTIMIZE_SIZE__), and on v6-M, they are shared, out-of-line functions.
 * Written for this project.
 */
#ifndef HIL_OPT_COMMON_H
#define HIL_OPT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hil_simd.h"
#if defined(__OPTIMIZE_SIZE__) || defined(__ARM_ARCH_6M__)
/* -Os, and v6-M (8 low registers: inlining every layer into one function mostly adds spills and
 * stack, 1.7 KB of a 2 KB stack on the M0+ boards): one out-of-line copy per kernel */
#define HIL_OPT_FN static __attribute__((noinline, unused))
#else
#define HIL_OPT_FN static inline __attribute__((always_inline, unused))
#endif
#if defined(__OPTIMIZE_SIZE__)
#define HIL_OPT_INL static inline
#define HIL_OPT_UNROLL _Pragma("GCC unroll 1")
#define HIL_OPT_UNROLL_K _Pragma("GCC unroll 1")
#else
#define HIL_OPT_INL static inline __attribute__((always_inline))
#define HIL_OPT_UNROLL _Pragma("GCC unroll 4")
#define HIL_OPT_UNROLL_K _Pragma("GCC unroll 16")
#endif
#if defined(__GNUC__)
#define HIL_OPT_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define HIL_OPT_BARRIER() ((void)0)
#endif
#define HIL_OPT_MAX_TAPS 64 /* depthwise windows up to 8x8 (the generator checks); scratch words */

typedef struct {
    int32_t rows;                  /* matrix rows: output pixels (conv) or batches (FC) */
    int32_t k;                     /* dot-product length (k_h * k_w * in_c, or FC depth) */
    int32_t kp;                    /* k rounded up to a multiple of 4 (DSP weight rows) */
    int32_t out_c;                 /* output channels / FC units */
    int32_t direct;                /* 1: row r is in + r * k (FC, 1x1 stride-1 unpadded conv) */
    int32_t batches, in_h, in_w, in_c, out_h, out_w, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp;                 /* input zero point: the value of padding taps */
    int32_t out_off, act_min, act_max;
    int32_t has_lshift;            /* some channel multiplier is > 1 (left shift) */
    int32_t has_rshift0;           /* some channel has no right shift */
    int32_t rs2;                   /* every right shift is >= 2 and rsh[] holds shift - 2 */
    int32_t rq30;                  /* rs2, and |accumulators| < 2^30 (the DSP int8-weight matrix kernel: hil_opt_rq30); 2: rows and biases doubled */
    int32_t wide_scratch;          /* hil_opt_conv_dsp8 may take the scratch of its unpacked path (1) or of its narrow path (rows a chunk) */
} hil_opt_conv_t;

/* acc * m as a 64-bit product (v6-M has no SMULL: 4 MULS on 16-bit halves, no library call). */
HIL_OPT_INL int64_t hil_opt_mul64(int32_t acc, int32_t m)
{
#if defined(__ARM_ARCH_6M__)
    const int32_t ah = acc >> 16;
    const uint32_t al = (uint32_t)acc & 0xFFFFu;
    const int32_t mh = m >> 16;
    const uint32_t ml = (uint32_t)m & 0xFFFFu;
    const int64_t mid = (int64_t)(ah * (int32_t)ml) + (int64_t)(int32_t)(al * (uint32_t)mh);
    return (int64_t)((uint64_t)(int64_t)(ah * mh) << 32) + (int64_t)((uint64_t)mid << 16) + (int64_t)(al * ml);
#else
    return (int64_t)acc * m;
#endif
}

/* TFLM's MultiplyByQuantizedMultiplier plus the output offset, for m >= 0.
 * (x * m + 2^30) >> 31 (floor) equals the saturating rounding doubling high multiply when
 * m != INT32_MIN, and the round-half-away division by 2^rs is ((y >> (rs - 1)) + 1) >> 1 with
 * y = x - (x < 0), overflow-free. With every rs >= 2 (the common case) both roundings fold into
 * the high word of x * m +- 2^30 (the sign of x picks the nudge; x * m in [-2^30, 0) rounds to 0
 * either way): ((hi >> (rs - 2)) + 1 + 2 * offset) >> 1 — one SMLAL and three ALU instructions. */
#if defined(__ARM_ARCH_6M__)
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__) && !defined(HIL_OPT_V6M_ASM)
#define HIL_OPT_V6M_ASM 1 /* the asm blocks want 6-7 low registers: -Os builds keep the C */
#endif
/* High word of acc * m + nudge (m >= 0) in 32-bit pieces: 4 MULS on 16-bit halves and add-with-
 * carry steps (64-bit C arithmetic compiles to spills and library-style code on v6-M). */
HIL_OPT_INL int32_t hil_opt_hi_v6m_asm(int32_t acc, int32_t m)
{
    /* high word of acc * m + (acc < 0 ? -2^30 : 2^30), m >= 0: 25 instructions */
    int32_t hi, al, ml, lo, t;
    __asm__(".syntax unified\n\t"
            "asrs %[t], %[a], #31\n\t"
            "uxth %[al], %[a]\n\t"
            "asrs %[a], %[a], #16\n\t"
            "uxth %[ml], %[m]\n\t"
            "lsrs %[m], %[m], #16\n\t"
            "mov %[lo], %[al]\n\t"
            "muls %[lo], %[ml], %[lo]\n\t"
            "mov %[hi], %[a]\n\t"
            "muls %[hi], %[m], %[hi]\n\t"
            "muls %[ml], %[a], %[ml]\n\t"
            "muls %[m], %[al], %[m]\n\t"
            "lsls %[a], %[ml], #16\n\t"
            "asrs %[ml], %[ml], #16\n\t"
            "adds %[lo], %[lo], %[a]\n\t"
            "adcs %[hi], %[ml]\n\t"
            "lsls %[a], %[m], #16\n\t"
            "lsrs %[m], %[m], #16\n\t"
            "adds %[lo], %[lo], %[a]\n\t"
            "adcs %[hi], %[m]\n\t"
            "lsls %[al], %[t], #31\n\t"
            "movs %[a], #1\n\t"
            "lsls %[a], %[a], #30\n\t"
            "eors %[al], %[a]\n\t"
            "adds %[lo], %[lo], %[al]\n\t"
            "adcs %[hi], %[t]\n\t"
            : [hi] "=&l"(hi), [al] "=&l"(al), [ml] "=&l"(ml), [lo] "=&l"(lo), [t] "=&l"(t), [a] "+l"(acc), [m] "+l"(m)
            :
            : "cc");
    return hi;
}

HIL_OPT_INL int32_t hil_opt_hi_v6m(int32_t acc, int32_t m, uint32_t nlo, int32_t nhi)
{
    const int32_t ah = acc >> 16, mh = m >> 16;
    const uint32_t al = (uint32_t)acc & 0xFFFFu, ml = (uint32_t)m & 0xFFFFu;
    const int32_t t1 = ah * (int32_t)ml;          /* |t1| < 2^31 */
    const int32_t t2 = (int32_t)(al * (uint32_t)mh); /* 0 <= t2 < 2^31 */
    uint32_t lo = al * ml;
    int32_t hi = ah * mh + nhi + (t1 >> 16) + (t2 >> 16);
    uint32_t add = (uint32_t)t1 << 16;
    lo += add;
    hi += lo < add;
    add = (uint32_t)t2 << 16;
    lo += add;
    hi += lo < add;
    lo += nlo;
    hi += lo < nlo;
    return hi;
}
#endif

HIL_OPT_INL int32_t hil_opt_rq(const hil_opt_conv_t *p, int32_t acc, int32_t m, int32_t ls, int32_t rs)
{
#if defined(__ARM_ARCH_6M__)
    if (p->rs2) {
        const int32_t sgn = acc >> 31;
#if defined(HIL_OPT_V6M_ASM)
        (void)sgn;
        const int32_t hi = hil_opt_hi_v6m_asm(acc, m);
#else
        const int32_t hi = hil_opt_hi_v6m(acc, m, 0x40000000u ^ ((uint32_t)sgn << 31), sgn);
#endif
        return ((hi >> rs) + 1 + 2 * p->out_off) >> 1;
    }
#endif
    if (p->rs2) {
        const int32_t sgn = acc >> 31;
        const int64_t nudge = (int64_t)(((uint64_t)(uint32_t)sgn << 32) | (0x40000000u ^ ((uint32_t)sgn << 31)));
        const int32_t hi = (int32_t)((uint64_t)(nudge + hil_opt_mul64(acc, m)) >> 32);
        return ((hi >> rs) + 1 + 2 * p->out_off) >> 1;
    }
    if (p->has_lshift) {
        acc = (int32_t)((uint32_t)acc << ls);
    }
    int32_t h = (int32_t)((hil_opt_mul64(acc, m) + (1LL << 30)) >> 31);
    if (!p->has_rshift0 || rs > 0) {
        h += h >> 31;
        h = ((h >> (rs - 1)) + 1) >> 1;
    }
    return h + p->out_off;
}

/* SMLAL, SSAT and shifted operands are Thumb-2 (v7-M: the M3 too), not DSP-extension instructions */
#if defined(__GNUC__) && defined(__arm__) && defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
#define HIL_OPT_RQ_ASM 1
#endif
#if defined(HIL_OPT_RQ_ASM)
/* The rs2 requantization in 6 instructions: the nudge's low word is 2^30 + (sign << 31) (one ADD
 * with a shifted operand, where gcc spends AND + EOR), then SMLAL, the shift, the offset and the
 * final halving folded into SSAT when the clamp is the full int8 range. */
HIL_OPT_INL int32_t hil_opt_rq2_dsp(int32_t acc, int32_t m, int32_t rs, int32_t k, int full)
{
    int32_t hi, lo;
    if (full) {
        __asm__("asr %[hi], %[a], #31\n\t"
                "add %[lo], %[k30], %[hi], lsl #31\n\t"
                "smlal %[lo], %[hi], %[a], %[m]\n\t"
                "asr %[hi], %[hi], %[rs]\n\t"
                "add %[hi], %[hi], %[k]\n\t"
                "ssat %[hi], #8, %[hi], asr #1"
                : [hi] "=&r"(hi), [lo] "=&r"(lo)
                : [a] "r"(acc), [m] "r"(m), [rs] "r"(rs), [k] "r"(k), [k30] "r"(0x40000000));
        return hi;
    }
    __asm__("asr %[hi], %[a], #31\n\t"
            "add %[lo], %[k30], %[hi], lsl #31\n\t"
            "smlal %[lo], %[hi], %[a], %[m]\n\t"
            "asr %[hi], %[hi], %[rs]\n\t"
            "add %[hi], %[hi], %[k]\n\t"
            "asr %[hi], %[hi], #1"
            : [hi] "=&r"(hi), [lo] "=&r"(lo)
            : [a] "r"(acc), [m] "r"(m), [rs] "r"(rs), [k] "r"(k), [k30] "r"(0x40000000));
    return hi;
}
#endif

HIL_OPT_INL int8_t hil_opt_out(const hil_opt_conv_t *p, int32_t acc, int32_t c, const int32_t *mult,
                                 const int32_t *rsh, const int32_t *lsh)
{
#if defined(HIL_OPT_RQ_ASM)
    if (p->rs2) {
        const int full = p->act_min == -128 && p->act_max == 127;
        int32_t v = hil_opt_rq2_dsp(acc, mult[c], rsh[c], 1 + 2 * p->out_off, full);
        if (!full) {
            v = v < p->act_min ? p->act_min : v;
            v = v > p->act_max ? p->act_max : v;
        }
        return (int8_t)v;
    }
#endif
    int32_t v = hil_opt_rq(p, acc, mult[c], p->has_lshift ? lsh[c] : 0, rsh[c]);
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    if (p->act_min == -128 && p->act_max == 127) {
        return (int8_t)__ssat(v, 8); /* one SSAT */
    }
#endif
    v = v < p->act_min ? p->act_min : v;
    v = v > p->act_max ? p->act_max : v;
    return (int8_t)v;
}

/* Row r of the im2col matrix into dst (k bytes): taps outside the input read the zero point. */
HIL_OPT_INL void hil_opt_im2col(const hil_opt_conv_t *p, const int8_t *in, int32_t r, int8_t *dst)
{
    const int32_t ox = r % p->out_w, t = r / p->out_w, oy = t % p->out_h, b = t / p->out_h;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    const int8_t *in_b = in + b * p->in_h * p->in_w * p->in_c;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t y = y0 + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t x = x0 + kx * p->dil_w;
            if (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) {
                const int8_t *src = in_b + (y * p->in_w + x) * p->in_c;
                for (int32_t c = 0; c < p->in_c; ++c) {
                    dst[c] = src[c];
                }
            } else {
                for (int32_t c = 0; c < p->in_c; ++c) {
                    dst[c] = (int8_t)p->in_zp;
                }
            }
            dst += p->in_c;
        }
    }
}

/* Depthwise helpers shared by the families' hil_opt_dw_* kernels (depth multiplier 1). Each output
 * pixel first lists its taps' input rows; taps in the padding point at a row of zero points, which
 * contributes exactly what TFLM's skipped taps do once the zero point is folded into bias_eff. */
HIL_OPT_INL void hil_opt_dw_taps(const hil_opt_conv_t *p, const int8_t *in_b, int32_t y0, int32_t x0,
                                 const int8_t *zrow, const int8_t **tp)
{
    const int32_t kh = p->k_h, kw = p->k_w, C = p->in_c;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t y = y0 + ky * p->dil_h;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t x = x0 + kx * p->dil_w;
            tp[ky * kw + kx] = (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) ? in_b + (y * p->in_w + x) * C : zrow;
        }
    }
}

/* One output pixel, channel by channel, from the tap table: the path every layer can take. */
HIL_OPT_INL void hil_opt_dw_pixel(const hil_opt_conv_t *p, const int8_t *const *tp, const int8_t *w8,
                                  const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                                  int8_t *out)
{
    const int32_t C = p->in_c, taps = p->k_h * p->k_w;
    for (int32_t c = 0; c < C; ++c) {
        int32_t acc = bias[c];
        const int8_t *wc = w8 + c;
        HIL_OPT_UNROLL
        for (int32_t t = 0; t < taps; ++t, wc += C) {
            acc += (int32_t)tp[t][c] * (int32_t)*wc;
        }
        out[c] = hil_opt_out(p, acc, c, mult, rsh, lsh);
    }
}

#endif /* HIL_OPT_COMMON_H */
