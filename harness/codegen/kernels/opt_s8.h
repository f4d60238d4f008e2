/* Optimized int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED (and, on the DSP cores,
 * AVERAGE_POOL_2D) kernels, chosen per core at generation time (harness/codegen/optimized.py).
 * Bit-exact with the portable kernels (and TFLM): only the order of exact integer sums and the
 * form of the requantization change. docs/kernels.md describes each path and its cost.
 *
 * - Convolutions and FC are one matrix product: rows = output pixels (im2col, padding taps set to
 *   the input zero point) or FC batches, columns = output channels. The input zero point is folded
 *   into the bias at generation time (bias_eff), so every MAC is a plain x * w.
 * - HIL_OPT_DSP (Cortex-M4/M7/M33): two rows are sign-extended once into 16-bit pairs (SXTB16,
 *   bytes 0,2 and 1,3 of each word); the weights are stored by the generator already as 16-bit
 *   pairs in that order, so a 2x2 block (2 pixels x 2 channels) is 4 loads + 4 SMLAD per 8 MACs.
 *   Depthwise: zero-point-padded input rows in a mirrored ring (hil_opt_dwr_s8), 4 channels per
 *   word, SMLABB/SMLATT; requantization in 6 instructions (hil_opt_rq2_dsp).
 * - HIL_OPT_V6M (Cortex-M0/M0+): rows widened to int32 once; 8-channel (hil_v6m_g8) or 2x2 MULS
 *   blocks; 3x3 depthwise over per-channel input planes (hil_opt_dw_v6m); the generator's split-
 *   multiplier table requantizes with 3 MULS where the accumulator bound allows it.
 * - Requantization otherwise: TFLM's double rounding, rewritten for a multiplier known to be >= 0
 *   (so the saturating case cannot occur) and a per-channel right shift: same integer.
 * - Functions are force-inlined into model.c, so every loop bound is a compile-time constant of the
 *   layer; with -Os (__OPTIMIZE_SIZE__), and on v6-M, they are shared, out-of-line functions.
 * Written for this project.
 */
#ifndef HIL_OPT_S8_H
#define HIL_OPT_S8_H

#include <stdint.h>
#include <string.h>

#include "hil_simd.h"
#include "pooling.h"

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

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
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
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
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

#if defined(HIL_OPT_DSP)
/* int8 row (k values) -> 16-bit pairs (b0,b2),(b1,b3),(b4,b6),... zero padded to kp values,
 * written as 2-word steps every 4 words (dst[4s], dst[4s+1]): the other row of the pair fills
 * dst[4s+2], dst[4s+3], so one pointer walks both rows with post-incremented LDRDs. */
HIL_OPT_INL void hil_opt_widen_dsp(const int8_t *src, int32_t k, uint32_t *dst)
{
    int32_t i = 0;
    for (; i + 4 <= k; i += 4) {
        const uint32_t w = hil_load32(src + i);
        dst[0] = hil_sxtb16(w);
        dst[1] = hil_sxtb16_ror8(w);
        dst += 4;
    }
    if (i < k) {
        uint32_t w = 0;
        for (int32_t j = 0; i + j < k; ++j) {
            w |= (uint32_t)(uint8_t)src[i + j] << (8 * j);
        }
        dst[0] = hil_sxtb16(w);
        dst[1] = hil_sxtb16_ror8(w);
    }
}

/* Two words from *p, then p += 2 words: one LDRD with post-increment on the DSP cores. */
#if HIL_SIMD_NATIVE
#define HIL_LDRD_PI(lo, hi, ptr) __asm__("ldrd %0, %1, [%2], #8" : "=r"(lo), "=r"(hi), "+r"(ptr) : : "memory")
#define HIL_LDRD_PI16(lo, hi, ptr) __asm__("ldrd %0, %1, [%2], #16" : "=r"(lo), "=r"(hi), "+r"(ptr) : : "memory")
#else
#define HIL_LDRD_PI(lo, hi, ptr) do { (lo) = (ptr)[0]; (hi) = (ptr)[1]; (ptr) += 2; } while (0)
#define HIL_LDRD_PI16(lo, hi, ptr) do { (lo) = (ptr)[0]; (hi) = (ptr)[1]; (ptr) += 4; } while (0)
#endif

/* The row pair in `col` (interleaved as above) times all output channels. w: per channel pair a
 * block of kp words, per step (wa, wa', wb, wb'); an odd last channel is paired with zeros. */
HIL_OPT_INL void hil_opt_mm_dsp(const hil_opt_conv_t *p, const uint32_t *col, int32_t two, const uint32_t *w,
                                const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                                int8_t *o0, int8_t *o1)
{
    const int32_t kp = p->kp, n = p->out_c;
    for (int32_t c = 0; c < n; c += 2) {
        const uint32_t *pa = col, *pw = w + c * (kp / 2);
        int32_t s00 = bias[c], s01 = bias[c + 1];
        int32_t s10 = s00, s11 = s01;
        if (!two) { /* one row (FC with batch 1, a last odd row): 3 LDRD + 4 SMLAD per 8 MACs */
            HIL_OPT_UNROLL
            for (int32_t i = 0; i < kp; i += 4) {
                uint32_t x0, x1, y0, y1, v0, v1;
                HIL_LDRD_PI16(x0, x1, pa);
                HIL_LDRD_PI(y0, y1, pw);
                HIL_LDRD_PI(v0, v1, pw);
                s00 = hil_smlad(x0, y0, s00);
                s00 = hil_smlad(x1, y1, s00);
                s01 = hil_smlad(x0, v0, s01);
                s01 = hil_smlad(x1, v1, s01);
            }
            o0[c] = hil_opt_out(p, s00, c, mult, rsh, lsh);
            if (c + 1 < n) {
                o0[c + 1] = hil_opt_out(p, s01, c + 1, mult, rsh, lsh);
            }
            continue;
        }
        /* 4 LDRD + 8 SMLAD per 16 MACs; at -O2 fully unrolled for the usual depths (<= 64) */
        HIL_OPT_UNROLL_K
        for (int32_t i = 0; i < kp; i += 4) {
            uint32_t x0, x1, z0, z1, y0, y1, v0, v1;
            HIL_LDRD_PI(x0, x1, pa);
            HIL_LDRD_PI(z0, z1, pa);
            HIL_LDRD_PI(y0, y1, pw);
            HIL_LDRD_PI(v0, v1, pw);
            s00 = hil_smlad(x0, y0, s00);
            s10 = hil_smlad(z0, y0, s10);
            s00 = hil_smlad(x1, y1, s00);
            s10 = hil_smlad(z1, y1, s10);
            s01 = hil_smlad(x0, v0, s01);
            s11 = hil_smlad(z0, v0, s11);
            s01 = hil_smlad(x1, v1, s01);
            s11 = hil_smlad(z1, v1, s11);
        }
        o0[c] = hil_opt_out(p, s00, c, mult, rsh, lsh);
        if (two) {
            o1[c] = hil_opt_out(p, s10, c, mult, rsh, lsh);
        }
        if (c + 1 < n) {
            o0[c + 1] = hil_opt_out(p, s01, c + 1, mult, rsh, lsh);
            if (two) {
                o1[c + 1] = hil_opt_out(p, s11, c + 1, mult, rsh, lsh);
            }
        }
    }
}

/* Conv / FC as a matrix product, two rows at a time. w: generator layout (hil_opt_mm_dsp);
 * bias/mult/rsh padded to an even channel count. scratch: kp/4 + kp words. */
HIL_OPT_FN void hil_opt_conv_s8(const hil_opt_conv_t *params, const int8_t *in, const int16_t *w, const int32_t *bias,
                                const int32_t *mult, const int32_t *rsh, const int32_t *lsh, int32_t *scratch,
                                int8_t *out)
{
    /* a local copy: stores through int8_t pointers cannot alias it, so fields stay in registers */
    const hil_opt_conv_t pcopy = *params;
    const hil_opt_conv_t *p = &pcopy;
    int8_t *tmp = (int8_t *)scratch;
    uint32_t *col = (uint32_t *)scratch + p->kp / 4;
    for (int32_t r = 0; r < p->rows; r += 2) {
        const int32_t two = r + 1 < p->rows;
        const int32_t r1 = two ? r + 1 : r; /* a single last row is computed twice, stored once */
        if (p->direct) {
            hil_opt_widen_dsp(in + r * p->k, p->k, col);
            if (two) {
                hil_opt_widen_dsp(in + r1 * p->k, p->k, col + 2);
            }
        } else {
            hil_opt_im2col(p, in, r, tmp);
            hil_opt_widen_dsp(tmp, p->k, col);
            if (two) {
                hil_opt_im2col(p, in, r1, tmp);
                hil_opt_widen_dsp(tmp, p->k, col + 2);
            }
        }
        hil_opt_mm_dsp(p, col, two, (const uint32_t *)(const void *)w, bias, mult, rsh, lsh,
                       out + r * p->out_c, out + (r + 1) * p->out_c);
    }
}

/* Depthwise, depth multiplier 1, in_c % 4 == 0 (the generator checks), over zero-point-padded
 * copies of the input rows. Padded row v (input row v - pad_h, or zero points outside the input)
 * is stored twice, in slots v % span and v % span + span of a ring of 2 * span rows, so every
 * window's rows are consecutive: one base pointer and constant offsets for every tap, no bounds
 * checks. Each input row is copied before any output row is stored over it, so with row stride 1
 * the output may overwrite the input (the planner runs the layer in place).
 * q (one stream, one pointer): per 4 channels, per tap 16-bit (w0,w2),(w1,w3) (one LDRD a tap),
 * then the 4 channels' bias_eff, multipliers and right shifts.
 * scratch: 2 * span padded rows of (out_w - 1) * stride_w + (k_w - 1) * dil_w + 1 pixels. */
#if HIL_SIMD_NATIVE && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
/* One tap of 4 channels: 8 instructions, in this order (left to gcc, the 9 input loads of a 3x3
 * window are hoisted together and spill). XO / WO: constant byte offsets once inlined. */
#define HIL_DWR_TAP(XP, XO, WP, WO)                                                                \
    do {                                                                                           \
        uint32_t x_, t_, w0_, w1_;                                                                 \
        __asm__("ldr %[x], [%[px], %[xo]]\n\t"                                                      \
                "ldrd %[w0], %[w1], [%[pw], %[wo]]\n\t"                                             \
                "sxtb16 %[t], %[x]\n\t"                                                             \
                "sxtb16 %[x], %[x], ror #8\n\t"                                                     \
                "smlabb %[a0], %[t], %[w0], %[a0]\n\t"                                              \
                "smlatt %[a2], %[t], %[w0], %[a2]\n\t"                                              \
                "smlabb %[a1], %[x], %[w1], %[a1]\n\t"                                              \
                "smlatt %[a3], %[x], %[w1], %[a3]"                                                   \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x_), [t] "=&r"(t_), \
                  [w0] "=&r"(w0_), [w1] "=&r"(w1_)                                                \
                : [px] "r"(XP), [xo] "i"(XO), [pw] "r"(WP), [wo] "i"(WO)                          \
                : "memory");                                                                       \
    } while (0)
#endif

HIL_OPT_FN void hil_opt_dwr_s8(const hil_opt_conv_t *params, const int8_t *in, const uint32_t *q, const int32_t *lsh,
                               int32_t *scratch, int8_t *out)
{
    const hil_opt_conv_t pcopy = *params; /* a local copy: int8_t stores cannot alias it */
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c, taps = p->k_h * p->k_w;
    const int32_t span = (p->k_h - 1) * p->dil_h + 1;
    const int32_t pw = (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1; /* padded row, pixels */
    const int32_t right = pw - p->pad_w - p->in_w;                              /* < 0: unread columns */
    const int32_t rowb = pw * C;
    int8_t *ring = (int8_t *)(void *)scratch;
#if !(HIL_SIMD_NATIVE && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__))
    int32_t xoff[HIL_OPT_MAX_TAPS]; /* each tap's byte offset in the window */
    for (int32_t t = 0; t < taps; ++t) {
        xoff[t] = (t / p->k_w) * p->dil_h * rowb + (t % p->k_w) * p->dil_w * C;
    }
#endif
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * C;
        int8_t *o = out + b * p->out_h * p->out_w * C;
        int32_t next = 0; /* the next padded row to store */
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t v0 = oy * p->stride_h; /* the window's first padded row */
            for (; next < v0 + span; ++next) {
                int8_t *dst = ring + (next % span) * rowb;
                const int32_t y = next - p->pad_h;
                if (y < 0 || y >= p->in_h) {
                    memset(dst, p->in_zp, (size_t)rowb);
                } else {
                    memset(dst, p->in_zp, (size_t)(p->pad_w * C));
                    memcpy(dst + p->pad_w * C, in_b + y * p->in_w * C,
                           (size_t)((right >= 0 ? p->in_w : p->in_w + right) * C));
                    if (right > 0) {
                        memset(dst + (p->pad_w + p->in_w) * C, p->in_zp, (size_t)(right * C));
                    }
                }
                memcpy(dst + span * rowb, dst, (size_t)rowb); /* the mirror slot */
            }
            const int8_t *win = ring + (v0 % span) * rowb;
            for (int32_t ox = 0; ox < p->out_w; ++ox, win += p->stride_w * C) {
                /* q: per 4 channels, the taps' weight pairs, then 4 biases, 4 multipliers, 4 shifts */
                const uint32_t *wq = q;
                const int8_t *x = win;
                for (int32_t g = 0; g < C; g += 4, wq += 2 * taps + 12, x += 4, o += 4) {
                    const int32_t *k = (const int32_t *)(const void *)(wq + 2 * taps);
                    int32_t a0 = k[0], a1 = k[1], a2 = k[2], a3 = k[3];
#if HIL_SIMD_NATIVE && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
                    HIL_OPT_UNROLL_K
                    for (int32_t t = 0; t < taps; ++t) { /* constant offsets once unrolled */
                        const int32_t ky = t / p->k_w, kx = t - (t / p->k_w) * p->k_w;
                        HIL_DWR_TAP(x, ky * p->dil_h * rowb + kx * p->dil_w * C, wq, 8 * t);
                    }
#else
                    for (int32_t t = 0; t < taps; ++t) { /* rolled (-Os, the host): offsets from the table */
                        const uint32_t xv = hil_load32(x + xoff[t]);
                        const uint32_t x02 = hil_sxtb16(xv), x13 = hil_sxtb16_ror8(xv);
                        a0 = hil_smlabb(x02, wq[2 * t], a0);
                        a2 = hil_smlatt(x02, wq[2 * t], a2);
                        a1 = hil_smlabb(x13, wq[2 * t + 1], a1);
                        a3 = hil_smlatt(x13, wq[2 * t + 1], a3);
                    }
#endif
                    const int32_t *ls = p->has_lshift ? lsh + g : lsh;
                    o[0] = hil_opt_out(p, a0, 0, k + 4, k + 8, ls);
                    o[1] = hil_opt_out(p, a1, 1, k + 4, k + 8, ls);
                    o[2] = hil_opt_out(p, a2, 2, k + 4, k + 8, ls);
                    o[3] = hil_opt_out(p, a3, 3, k + 4, k + 8, ls);
                }
            }
        }
    }
}

/* int8 average pool, channels % 4 == 0, windows of at most 256 pixels (the generator checks):
 * per 4 channels two registers of 16-bit lanes accumulate the window with SXTAB16 (|sum| <=
 * 256 * 128 fits a lane), then TFLM's rounding division and clamp. */
HIL_OPT_FN void hil_opt_avgpool_s8(const hil_pool_params_t *params, const int8_t *in, int8_t *out)
{
    const hil_pool_params_t pcopy = *params; /* a local copy: int8_t stores cannot alias it */
    const hil_pool_params_t *p = &pcopy;
    const int32_t C = p->channels;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = y0 < 0 ? -y0 : 0, fy1 = p->in_h - y0 < p->f_h ? p->in_h - y0 : p->f_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = x0 < 0 ? -x0 : 0, fx1 = p->in_w - x0 < p->f_w ? p->in_w - x0 : p->f_w;
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                for (int32_t g = 0; g < C; g += 4, out += 4) {
                    uint32_t s02 = 0, s13 = 0; /* lanes: channels g, g+2 and g+1, g+3 */
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *r = in_b + ((y0 + fy) * p->in_w + x0 + fx0) * C + g;
                        for (int32_t fx = fx0; fx < fx1; ++fx, r += C) {
                            const uint32_t w = hil_load32(r);
                            s02 = hil_sxtab16(s02, w);
                            s13 = hil_sxtab16_ror8(s13, w);
                        }
                    }
                    const int32_t acc[4] = {(int16_t)(s02 & 0xFFFFu), (int16_t)(s13 & 0xFFFFu), (int16_t)(s02 >> 16),
                                            (int16_t)(s13 >> 16)};
                    for (int32_t j = 0; j < 4; ++j) {
                        int32_t v = acc[j];
                        if (count > 0) {
                            v = v > 0 ? (v + count / 2) / count : (v - count / 2) / count;
                        }
                        v = v < p->act_min ? p->act_min : v;
                        out[j] = (int8_t)(v > p->act_max ? p->act_max : v);
                    }
                }
            }
        }
    }
}
#elif defined(HIL_OPT_V6M)
/* Split-multiplier requantization (v6-M, no 32x32->64 multiply). The generator emits, when every
 * channel has a right shift >= 2, no left shift and |acc| < 2^20 (|bias_eff| + 128 * sum|w|, known
 * from the weights), per channel 16 bytes t = {K, b, (m0, m1, m2, rs) as uint16} (b: the bias the
 * kernel starts from: bias_eff, or for the depthwise plane path bias_eff - 128 * sum(w)), with
 * m = m2*2^22 + m1*2^11 + m0
 * and K = 2^(8+rs) + 2^8 + out_off * 2^(9+rs). Then TFLM's double rounding plus the offset is
 *   u = ((((acc*m0 >> 11) + acc*m1) >> 11) + acc*m2 + K;   out = ((u >> 9) + (acc >> 31)) >> rs
 * exactly: nested floors of one exact quotient, floor((acc*m + 2^(30+rs) +- 2^30) / 2^(31+rs)),
 * the sign picking the nudge; every partial sum fits in 32 bits (the generator checks the
 * bounds). 17 instructions, 3 MULS, against ~35 for the 64-bit high word. */
#define HIL_V6M_RQ_WORDS 4
/* hil_v6m_rq's instructions (a = the result; x = acc, clobbered; t = the channel's table) */
#define HIL_V6M_RQ_ASM \
    "ldrh %[a], [%[t], #8]\n\t" \
    "muls %[a], %[x], %[a]\n\t" \
    "asrs %[a], %[a], #11\n\t" \
    "ldrh %[b], [%[t], #10]\n\t" \
    "muls %[b], %[x], %[b]\n\t" \
    "adds %[a], %[a], %[b]\n\t" \
    "asrs %[a], %[a], #11\n\t" \
    "ldrh %[b], [%[t], #12]\n\t" \
    "muls %[b], %[x], %[b]\n\t" \
    "adds %[a], %[a], %[b]\n\t" \
    "ldr %[b], [%[t], #0]\n\t" \
    "adds %[a], %[a], %[b]\n\t" \
    "asrs %[a], %[a], #9\n\t" \
    "asrs %[x], %[x], #31\n\t" \
    "adds %[a], %[a], %[x]\n\t" \
    "ldrh %[b], [%[t], #14]\n\t" \
    "asrs %[a], %[a], %[b]\n\t"
HIL_OPT_INL int32_t hil_v6m_rq(int32_t acc, const int32_t *t)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a, b;
    __asm__(".syntax unified\n\t" HIL_V6M_RQ_ASM
            : [a] "=&l"(a), [b] "=&l"(b), [x] "+l"(acc)
            : [t] "l"(t)
            : "cc", "memory");
    return a;
#else
    const uint32_t w2 = (uint32_t)t[2], w3 = (uint32_t)t[3]; /* (m0, m1), (m2, rs) halfwords */
    int32_t a = (acc * (int32_t)(w2 & 0xFFFFu)) >> 11;
    a = (a + acc * (int32_t)(w2 >> 16)) >> 11;
    a = (a + acc * (int32_t)(w3 & 0xFFFFu) + t[0]) >> 9;
    return (a + (acc < 0 ? -1 : 0)) >> (w3 >> 16);
#endif
}

HIL_OPT_INL int8_t hil_v6m_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* *dst = the requantized, clamped acc: hil_v6m_rq + two compare-and-branch clamps + STRB, 22
 * instructions when nothing saturates. */
HIL_OPT_INL void hil_v6m_rqs(int32_t acc, const int32_t *t, int32_t lo, int32_t hi, int8_t *dst)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a, b;
    __asm__ volatile(".syntax unified\n\t" HIL_V6M_RQ_ASM
                     "cmp %[a], %[lo]\n\t"
                     "bge 1f\n\t"
                     "mov %[a], %[lo]\n"
                     "1:\n\t"
                     "cmp %[a], %[hi]\n\t"
                     "ble 2f\n\t"
                     "mov %[a], %[hi]\n"
                     "2:\n\t"
                     "strb %[a], [%[d], #0]\n\t"
                     : [a] "=&l"(a), [b] "=&l"(b), [x] "+l"(acc)
                     : [t] "l"(t), [lo] "r"(lo), [hi] "r"(hi), [d] "l"(dst)
                     : "cc", "memory");
#else
    *dst = hil_v6m_clamp(hil_v6m_rq(acc, t), lo, hi);
#endif
}

/* 2x2 block (rows r, r+1 x channels c, c+1) over k (a multiple of 4). col: per k the two rows'
 * values as int32; w: per k the two channels' weights + 128 as uint8 (LDRB takes an immediate
 * offset, LDRSB does not; the + 128 comes back out as 128 * sum(x) per row). v6-M: 4 LDR/LDRB
 * pairs, 4 MULS and 4 ADDs into high registers per k, 3.5 instructions per MAC. */
HIL_OPT_INL void hil_opt_block_v6m(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a00 = s[0], a01 = s[1], a10 = s[2], a11 = s[3];
    const int32_t *end = col + 2 * kp;
    uint32_t x0, x1, ya, yb;
#define HIL_V6M_K(xo, wo)                                                                          \
    "ldr %[x0], [%[pc], #" #xo "]\n\t"                                                             \
    "ldr %[x1], [%[pc], #" #xo "+4]\n\t"                                                           \
    "ldrb %[ya], [%[pw], #" #wo "]\n\t"                                                            \
    "ldrb %[yb], [%[pw], #" #wo "+1]\n\t"                                                          \
    "muls %[ya], %[x0], %[ya]\n\t"                                                                 \
    "add %[a00], %[ya]\n\t"                                                                        \
    "ldrb %[ya], [%[pw], #" #wo "]\n\t"  /* reloading costs what a copy would, one register less */ \
    "muls %[ya], %[x1], %[ya]\n\t"                                                                 \
    "add %[a10], %[ya]\n\t"                                                                        \
    "muls %[x0], %[yb], %[x0]\n\t"                                                                 \
    "add %[a01], %[x0]\n\t"                                                                        \
    "muls %[yb], %[x1], %[yb]\n\t"                                                                 \
    "add %[a11], %[yb]\n\t"
    __asm__(".syntax unified\n" /* gcc restores its own syntax mode after the block */
            "1:\n\t"
            HIL_V6M_K(0, 0) HIL_V6M_K(8, 2) HIL_V6M_K(16, 4) HIL_V6M_K(24, 6)
            "adds %[pc], #32\n\t"
            "adds %[pw], #8\n\t"
            "cmp %[pc], %[end]\n\t"
            "bne 1b\n\t"
            : [a00] "+h"(a00), [a01] "+h"(a01), [a10] "+h"(a10), [a11] "+h"(a11), [pc] "+l"(col), [pw] "+l"(w),
              [x0] "=&l"(x0), [x1] "=&l"(x1), [ya] "=&l"(ya), [yb] "=&l"(yb)
            : [end] "r"(end)
            : "cc", "memory");
#undef HIL_V6M_K
    s[0] = a00;
    s[1] = a01;
    s[2] = a10;
    s[3] = a11;
#else
    for (int32_t i = 0; i < kp; ++i) {
        const int32_t x0 = col[2 * i], x1 = col[2 * i + 1], ya = w[2 * i], yb = w[2 * i + 1];
        s[0] += x0 * ya;
        s[1] += x0 * yb;
        s[2] += x1 * ya;
        s[3] += x1 * yb;
    }
#endif
}

/* One row (FC with batch 1, a last odd row) x channels c, c+1: 3.5 instructions per MAC. */
HIL_OPT_INL void hil_opt_row_v6m(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a00 = s[0], a01 = s[1];
    const int32_t *end = col + 2 * kp;
    uint32_t x0, ya, yb;
#define HIL_V6M_R(xo, wo)                                                                          \
    "ldr %[x0], [%[pc], #" #xo "]\n\t"                                                             \
    "ldrb %[ya], [%[pw], #" #wo "]\n\t"                                                            \
    "ldrb %[yb], [%[pw], #" #wo "+1]\n\t"                                                          \
    "muls %[ya], %[x0], %[ya]\n\t"                                                                 \
    "add %[a00], %[ya]\n\t"                                                                        \
    "muls %[x0], %[yb], %[x0]\n\t"                                                                 \
    "add %[a01], %[x0]\n\t"
    __asm__(".syntax unified\n"
            "1:\n\t"
            HIL_V6M_R(0, 0) HIL_V6M_R(8, 2) HIL_V6M_R(16, 4) HIL_V6M_R(24, 6)
            "adds %[pc], #32\n\t"
            "adds %[pw], #8\n\t"
            "cmp %[pc], %[end]\n\t"
            "bne 1b\n\t"
            : [a00] "+h"(a00), [a01] "+h"(a01), [pc] "+l"(col), [pw] "+l"(w), [x0] "=&l"(x0), [ya] "=&l"(ya),
              [yb] "=&l"(yb)
            : [end] "r"(end)
            : "cc", "memory");
#undef HIL_V6M_R
    s[0] = a00;
    s[1] = a01;
#else
    for (int32_t i = 0; i < kp; ++i) {
        s[0] += col[2 * i] * w[2 * i];
        s[1] += col[2 * i] * w[2 * i + 1];
    }
#endif
}

/* One row (every other int32 of col: the row pair stays interleaved) times 8 channels: w per k
 * the 8 channels' weights + 128 as uint8. The C form (host, -Os); v6-M -O2 runs hil_v6m_g8. */
HIL_OPT_INL void hil_v6m_row8(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
    int32_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7];
    for (const int32_t *end = col + 2 * kp; col < end; col += 2, w += 8) {
        const int32_t x = col[0];
        a0 += x * w[0];
        a1 += x * w[1];
        a2 += x * w[2];
        a3 += x * w[3];
        a4 += x * w[4];
        a5 += x * w[5];
        a6 += x * w[6];
        a7 += x * w[7];
    }
    s[0] = a0;
    s[1] = a1;
    s[2] = a2;
    s[3] = a3;
    s[4] = a4;
    s[5] = a5;
    s[6] = a6;
    s[7] = a7;
}

/* Rows r (and r+1) of col times every channel, 8 channels at a time (out_c % 8 == 0, the
 * generator's 8-channel weight layout), requantized with the split table (tab[4c+1] = bias_eff). */
HIL_OPT_INL void hil_v6m_rows8(const int32_t *col, const uint8_t *w, int32_t kp, const int32_t *tab, int32_t sum,
                               int8_t *o, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t c = 0; c < n; c += 8, w += 8 * kp, tab += 8 * HIL_V6M_RQ_WORDS, o += 8) {
        int32_t s[8];
        for (int32_t j = 0; j < 8; ++j) {
            s[j] = tab[HIL_V6M_RQ_WORDS * j + 1] - sum;
        }
        hil_v6m_row8(col, w, kp, s);
        for (int32_t j = 0; j < 8; ++j) {
            hil_v6m_rqs(s[j], tab + HIL_V6M_RQ_WORDS * j, lo, hi, o + j);
        }
    }
}

#if defined(HIL_OPT_V6M_ASM)
/* The 8-channel path in one hand-written function: all 13 usable registers hold the MAC loop
 * (x, y, two pointers, the end, eight accumulators in r6-r12 and lr), then each accumulator is
 * requantized (hil_v6m_rq + clamp + STRB) straight from its register; loops over the channel
 * groups of one row. */
typedef struct {
    const int32_t *col; /* 0: the row, every other int32 */
    const uint8_t *w;   /* 4: per 8-channel group, per k, 8 bytes (w + 128) */
    const int32_t *end; /* 8: col + 2 * kp */
    const int32_t *tab; /* 12: split table, HIL_V6M_RQ_WORDS words per channel */
    int8_t *o;          /* 16: the output row */
    int8_t *o_end;      /* 20: o + out_c */
    int32_t sum;        /* 24: 128 * sum(x) of the row */
    int32_t lo, hi;     /* 28, 32: activation bounds */
} hil_v6m_g8_t;

#define HIL_G8_M(wo, acc)                                                                          \
    "ldrb r4, [r2, #" #wo "]\n\t"                                                                  \
    "muls r4, r3, r4\n\t"                                                                          \
    "add " #acc ", r4\n\t"
#define HIL_G8_K(xo, wo)                                                                           \
    "ldr r3, [r1, #" #xo "]\n\t"                                                                   \
    HIL_G8_M(wo + 0, r8) HIL_G8_M(wo + 1, r9) HIL_G8_M(wo + 2, r10) HIL_G8_M(wo + 3, r11)            \
    HIL_G8_M(wo + 4, r12) HIL_G8_M(wo + 5, lr) HIL_G8_M(wo + 6, r6)                                  \
    "ldrb r4, [r2, #" #wo "+7]\n\t"                                                                \
    "muls r3, r4, r3\n\t"                                                                          \
    "add r7, r3\n\t"
/* acc X (low, destroyed) -> tab r1 + toff -> strb [r2, #oo]; temps r3, r4; clamp bounds LO, HI */
#define HIL_G8_RQ(X, toff, oo, LO, HI)                                                              \
    "ldrh r3, [r1, #" #toff "+8]\n\t"                                                                 \
    "muls r3, " #X ", r3\n\t"                                                                      \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+10]\n\t"                                                               \
    "muls r4, " #X ", r4\n\t"                                                                      \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+12]\n\t"                                                               \
    "muls r4, " #X ", r4\n\t"                                                                      \
    "adds r3, r3, r4\n\t"                                                                          \
    "ldr r4, [r1, #" #toff "]\n\t"                                                              \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #9\n\t"                                                                          \
    "asrs " #X ", " #X ", #31\n\t"                                                                 \
    "adds r3, r3, " #X "\n\t"                                                                      \
    "ldrh r4, [r1, #" #toff "+14]\n\t"                                                              \
    "asrs r3, r3, r4\n\t"                                                                          \
    LO                                                                                             \
    "cmp r3, r5\n\t"                                                                               \
    "bge 3f\n\t"                                                                                   \
    "mov r3, r5\n"                                                                                 \
    "3:\n\t"                                                                                       \
    HI                                                                                             \
    "cmp r3, r5\n\t"                                                                               \
    "ble 4f\n\t"                                                                                   \
    "mov r3, r5\n"                                                                                 \
    "4:\n\t"                                                                                       \
    "strb r3, [r2, #" #oo "]\n\t"
#define HIL_G8_LO_MEM "ldr r5, [r0, #28]\n\t"
#define HIL_G8_HI_MEM "ldr r5, [r0, #32]\n\t"
#define HIL_G8_RQH(H, toff, oo)                                                                     \
    "mov r5, " #H "\n\t"                                                                           \
    "ldrh r3, [r1, #" #toff "+8]\n\t"                                                                 \
    "muls r3, r5, r3\n\t"                                                                          \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+10]\n\t"                                                               \
    "muls r4, r5, r4\n\t"                                                                          \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+12]\n\t"                                                               \
    "muls r4, r5, r4\n\t"                                                                          \
    "adds r3, r3, r4\n\t"                                                                          \
    "ldr r4, [r1, #" #toff "]\n\t"                                                              \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #9\n\t"                                                                          \
    "asrs r5, r5, #31\n\t"                                                                         \
    "adds r3, r3, r5\n\t"                                                                          \
    "ldrh r4, [r1, #" #toff "+14]\n\t"                                                              \
    "asrs r3, r3, r4\n\t"                                                                          \
    "cmp r3, r6\n\t"                                                                               \
    "bge 3f\n\t"                                                                                   \
    "mov r3, r6\n"                                                                                 \
    "3:\n\t"                                                                                       \
    "cmp r3, r7\n\t"                                                                               \
    "ble 4f\n\t"                                                                                   \
    "mov r3, r7\n"                                                                                 \
    "4:\n\t"                                                                                       \
    "strb r3, [r2, #" #oo "]\n\t"
#define HIL_G8_B(off, R)                                                                           \
    "ldr r4, [r1, #" #off "]\n\t"                                                                  \
    "subs r4, r4, r3\n\t"                                                                          \
    "mov " #R ", r4\n\t"

__attribute__((naked, noinline, unused)) static void hil_v6m_g8(hil_v6m_g8_t *ctx __attribute__((unused)))
{
    __asm__ volatile(
        ".syntax unified\n\t"
        "push {r4, r5, r6, r7, lr}\n\t"
        "mov r4, r8\n\t"
        "mov r5, r9\n\t"
        "mov r6, r10\n\t"
        "mov r7, r11\n\t"
        "push {r4, r5, r6, r7}\n"
        "0:\n\t"
        "ldr r1, [r0, #12]\n\t"
        "ldr r3, [r0, #24]\n\t"
        HIL_G8_B(4, r8) HIL_G8_B(20, r9) HIL_G8_B(36, r10) HIL_G8_B(52, r11)
        "adds r1, #64\n\t"
        HIL_G8_B(4, r12) HIL_G8_B(20, lr)
        "ldr r6, [r1, #36]\n\t"
        "subs r6, r6, r3\n\t"
        "ldr r7, [r1, #52]\n\t"
        "subs r7, r7, r3\n\t"
        "ldr r1, [r0, #0]\n\t"
        "ldr r2, [r0, #4]\n\t"
        "ldr r5, [r0, #8]\n"
        "1:\n\t"
        HIL_G8_K(0, 0) HIL_G8_K(8, 8) HIL_G8_K(16, 16) HIL_G8_K(24, 24)
        "adds r1, #32\n\t"
        "adds r2, #32\n\t"
        "cmp r1, r5\n\t"
        "bne 1b\n\t"
        "str r2, [r0, #4]\n\t"
        "ldr r1, [r0, #12]\n\t"
        "ldr r2, [r0, #16]\n\t"
        "adds r1, #64\n\t"
        HIL_G8_RQ(r6, 32, 6, HIL_G8_LO_MEM, HIL_G8_HI_MEM)
        HIL_G8_RQ(r7, 48, 7, HIL_G8_LO_MEM, HIL_G8_HI_MEM)
        "ldr r6, [r0, #28]\n\t"
        "ldr r7, [r0, #32]\n\t"
        HIL_G8_RQH(r12, 0, 4) HIL_G8_RQH(lr, 16, 5)
        "subs r1, #64\n\t"
        HIL_G8_RQH(r8, 0, 0) HIL_G8_RQH(r9, 16, 1) HIL_G8_RQH(r10, 32, 2) HIL_G8_RQH(r11, 48, 3)
        "adds r1, #128\n\t"
        "str r1, [r0, #12]\n\t"
        "adds r2, #8\n\t"
        "str r2, [r0, #16]\n\t"
        "ldr r3, [r0, #20]\n\t"
        "cmp r2, r3\n\t"
        "beq 9f\n\t"
        "b 0b\n"
        "9:\n\t"
        "pop {r4, r5, r6, r7}\n\t"
        "mov r8, r4\n\t"
        "mov r9, r5\n\t"
        "mov r10, r6\n\t"
        "mov r11, r7\n\t"
        "pop {r4, r5, r6, r7, pc}\n\t");
}
#undef HIL_G8_M
#undef HIL_G8_K
#undef HIL_G8_RQ
#undef HIL_G8_RQH
#undef HIL_G8_B
#undef HIL_G8_LO_MEM
#undef HIL_G8_HI_MEM
#endif

/* One output of the general pair loop: the split table when there is one, else hil_opt_out. */
HIL_OPT_INL void hil_v6m_put(const hil_opt_conv_t *p, int32_t acc, int32_t c, const int32_t *tab, const int32_t *mult,
                             const int32_t *rsh, const int32_t *lsh, int8_t *dst)
{
    if (tab) {
        hil_v6m_rqs(acc, tab + HIL_V6M_RQ_WORDS * c, p->act_min, p->act_max, dst);
    } else {
        *dst = hil_opt_out(p, acc, c, mult, rsh, lsh);
    }
}

/* n int8 values -> every other int32 of dst; returns their sum. */
HIL_OPT_INL int32_t hil_v6m_copyw(const int8_t *src, int32_t n, int32_t *dst)
{
    int32_t sx = 0, i = 0;
#if !defined(__OPTIMIZE_SIZE__)
    for (; i + 4 <= n; i += 4, src += 4, dst += 8) {
        const int32_t v0 = src[0], v1 = src[1], v2 = src[2], v3 = src[3];
        dst[0] = v0;
        dst[2] = v1;
        dst[4] = v2;
        dst[6] = v3;
        sx += v0 + v1 + v2 + v3;
    }
#endif
    for (; i < n; ++i, dst += 2) {
        const int32_t v = *src++;
        dst[0] = v;
        sx += v;
    }
    return sx;
}

/* int8 row (k values) -> every other int32 of dst (the row pair interleaved), zero padded to kp;
 * returns sum(x). */
HIL_OPT_INL int32_t hil_v6m_widen(const int8_t *src, int32_t k, int32_t kp, int32_t *dst)
{
    const int32_t sx = hil_v6m_copyw(src, k, dst);
    for (int32_t i = k; i < kp; ++i) {
        dst[2 * i] = 0;
    }
    return sx;
}

/* One im2col row (output pixel with top-left tap at input (y0, x0)) straight into every other
 * int32 of dst, zero-padded to kp: taps outside the input read the zero point. Without dilation
 * along x the taps inside form one contiguous run per kernel row: zero points, a copy, zero
 * points. Returns sum(x). */
HIL_OPT_INL int32_t hil_v6m_im2col(const hil_opt_conv_t *p, const int8_t *in_b, int32_t y0, int32_t x0, int32_t *dst)
{
    /* the fields in locals: stores through dst (int32_t) could alias *p and force reloads */
    const int32_t C = p->in_c, kw = p->k_w, seg = kw * C, zp = p->in_zp, in_h = p->in_h, in_w = p->in_w;
    const int32_t k_h = p->k_h, dil_h = p->dil_h, dil_w = p->dil_w, kp = p->kp;
    int32_t sx = 0, i;
    int32_t *const start = dst;
#if !defined(__OPTIMIZE_SIZE__)
    const int32_t xin = dil_w == 1 && x0 >= 0 && x0 + kw <= in_w; /* every tap of a row inside */
#endif
    for (int32_t ky = 0; ky < k_h; ++ky) {
        const int32_t y = y0 + ky * dil_h;
        if (y < 0 || y >= in_h) {
            for (i = 0; i < seg; ++i, dst += 2) {
                dst[0] = zp;
            }
            sx += zp * seg;
            continue;
        }
        const int8_t *row = in_b + y * in_w * C;
#if !defined(__OPTIMIZE_SIZE__)
        if (xin) {
            sx += hil_v6m_copyw(row + x0 * C, seg, dst);
            dst += 2 * seg;
            continue;
        }
        /* the kernel columns [ka, kb) fall inside the input */
        const int32_t ka = x0 < 0 ? -x0 : 0, kb0 = in_w - x0, kb = kb0 < kw ? kb0 : kw;
        const int32_t run = dil_w == 1 && kb > ka ? (kb - ka) * C : -1;
        if (run >= 0) {
            for (i = 0; i < ka * C; ++i, dst += 2) {
                dst[0] = zp;
            }
            sx += hil_v6m_copyw(row + (x0 + ka) * C, run, dst) + zp * (seg - run);
            dst += 2 * run;
            for (i = kb * C; i < seg; ++i, dst += 2) {
                dst[0] = zp;
            }
            continue;
        }
#endif
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t x = x0 + kx * dil_w;
            if (x >= 0 && x < in_w) {
                const int8_t *src = row + x * C;
                for (i = 0; i < C; ++i, dst += 2) {
                    const int32_t v = src[i];
                    dst[0] = v;
                    sx += v;
                }
            } else {
                for (i = 0; i < C; ++i, dst += 2) {
                    dst[0] = zp;
                }
                sx += zp * C;
            }
        }
    }
    for (i = (int32_t)((dst - start) / 2); i < kp; ++i, dst += 2) {
        dst[0] = 0;
    }
    return sx;
}

/* Conv / FC as a matrix product on v6-M, two rows at a time. w: generator layout (per channel
 * pair, per k, (wa + 128, wb + 128)); bias/mult/rsh padded to an even channel count.
 * scratch: kp/4 + 2 kp words. */
HIL_OPT_FN void hil_opt_conv_s8(const hil_opt_conv_t *params, const int8_t *in, const uint8_t *w, const int32_t *bias,
                                const int32_t *mult, const int32_t *rsh, const int32_t *lsh, int32_t *scratch,
                                int8_t *out)
{
    /* no local copy of the parameters: 104 bytes of a 2 KB stack; the hot loops are asm */
    const hil_opt_conv_t *p = params;
    int8_t *tmp = (int8_t *)scratch;
    int32_t *col = scratch + p->kp / 4;
    const int32_t k = p->k, kp = p->kp, n = p->out_c;
    /* v6-M: with no left shift, `lsh` carries the generator's split-multiplier table instead */
    const int32_t *tab = p->has_lshift ? (const int32_t *)0 : lsh;
    int32_t ox = 0, oy = 0, bt = 0; /* the next im2col row's output pixel */
    (void)tmp;
    for (int32_t r = 0; r < p->rows; r += 2) {
        const int32_t two = r + 1 < p->rows;
        int32_t sum[2] = {0, 0};
        /* both rows are read into col before any output of the pair is written (in place) */
        for (int32_t j = 0; j < 1 + two; ++j) {
            if (p->direct) {
                sum[j] = hil_v6m_widen(in + (r + j) * k, k, kp, col + j) * 128;
                continue;
            }
            /* im2col straight into col; (ox, oy, bt) follow the row index without divisions */
            sum[j] = hil_v6m_im2col(p, in + bt * p->in_h * p->in_w * p->in_c, oy * p->stride_h - p->pad_h,
                                    ox * p->stride_w - p->pad_w, col + j) * 128;
            if (++ox == p->out_w) {
                ox = 0;
                if (++oy == p->out_h) {
                    oy = 0;
                    ++bt;
                }
            }
        }
        int8_t *o0 = out + r * n, *o1 = o0 + n;
        if (tab && (n & 7) == 0) {
#if defined(HIL_OPT_V6M_ASM)
            /* its arguments after col in the scratch (the generator adds their 9 words): not on the
             * 2 KB stack */
            hil_v6m_g8_t *g = (hil_v6m_g8_t *)(void *)(col + 2 * kp);
            g->col = col;
            g->w = w;
            g->end = col + 2 * kp;
            g->tab = tab;
            g->o = o0;
            g->o_end = o0 + n;
            g->sum = sum[0];
            g->lo = p->act_min;
            g->hi = p->act_max;
            hil_v6m_g8(g);
            if (two) {
                g->col = col + 1;
                g->w = w;
                g->end = col + 1 + 2 * kp;
                g->tab = tab;
                g->o = o1;
                g->o_end = o1 + n;
                g->sum = sum[1];
                hil_v6m_g8(g);
            }
#else
            hil_v6m_rows8(col, w, kp, tab, sum[0], o0, n, p->act_min, p->act_max);
            if (two) {
                hil_v6m_rows8(col + 1, w, kp, tab, sum[1], o1, n, p->act_min, p->act_max);
            }
#endif
            continue;
        }
        /* other channel counts: 2x2 blocks, outputs one by one (small layers: FC heads, odd widths) */
        for (int32_t c = 0; c < n; c += 2) {
            int32_t s[4] = {bias[c] - sum[0], bias[c + 1] - sum[0], bias[c] - sum[1], bias[c + 1] - sum[1]};
            if (two) {
                hil_opt_block_v6m(col, w + c * kp, kp, s);
            } else {
                hil_opt_row_v6m(col, w + c * kp, kp, s);
            }
            if (!tab) { /* layers without a split table (e.g. 128-deep FCs): four stores */
                o0[c] = hil_opt_out(p, s[0], c, mult, rsh, lsh);
                if (two) {
                    o1[c] = hil_opt_out(p, s[2], c, mult, rsh, lsh);
                }
                if (c + 1 < n) {
                    o0[c + 1] = hil_opt_out(p, s[1], c + 1, mult, rsh, lsh);
                    if (two) {
                        o1[c + 1] = hil_opt_out(p, s[3], c + 1, mult, rsh, lsh);
                    }
                }
                continue;
            }
            for (int32_t j = 0; j < 4; ++j) { /* j: row j >> 1, channel c + (j & 1) */
                if ((j < 2 || two) && c + (j & 1) < n) {
                    hil_v6m_put(p, s[(j & 1) + 2 * (j >> 1)], c + (j & 1), tab, mult, rsh, lsh,
                                (j < 2 ? o0 : o1) + c + (j & 1));
                }
            }
        }
    }
}
#endif

/* Depthwise, depth multiplier 1. w8: the 1HWC filter as is. w16 (DSP, in_c % 4 == 0): per tap,
 * per 4 channels, 16-bit (w0,w2),(w1,w3); on v6-M (3x3, in_c even) instead int32 (w[c], w[c+1])
 * per channel pair and tap. Each output pixel first lists its taps' input rows;
 * taps in the padding point at a row of zero points (scratch), which contributes exactly what
 * TFLM's skipped taps do once the zero point is folded into bias_eff. No bounds checks inside. */
#if defined(HIL_OPT_V6M)
/* 3x3 depthwise, channels c and c+1 of one output pixel: tp = the 9 taps' input rows, w = the 9
 * taps of channel c then of channel c+1, as int32. v6-M: LDRSH reads both channels' inputs, SXTB /
 * ASRS split them, 10 instructions per 2 MACs. */
HIL_OPT_INL void hil_opt_dw9_v6m(const int8_t *const *tp, int32_t c, const int32_t *w, int32_t *a0, int32_t *a1)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t s0 = *a0, s1 = *a1;
    uint32_t v, x1, w0, w1;
#define HIL_DW9_TAP(t, wo)                                                                         \
    "ldr %[v], [%[tab], #" #t "*4]\n\t"                                                            \
    "ldrsh %[v], [%[v], %[c]]\n\t"                                                                 \
    "asrs %[x1], %[v], #8\n\t"                                                                     \
    "sxtb %[v], %[v]\n\t"                                                                          \
    "ldr %[w0], [%[pw], #" #wo "]\n\t"                                                             \
    "ldr %[w1], [%[pw], #" #wo "+36]\n\t"                                                          \
    "muls %[w0], %[v], %[w0]\n\t"                                                                  \
    "add %[s0], %[w0]\n\t"                                                                         \
    "muls %[w1], %[x1], %[w1]\n\t"                                                                 \
    "add %[s1], %[w1]\n\t"
    __asm__(".syntax unified\n\t"
            HIL_DW9_TAP(0, 0) HIL_DW9_TAP(1, 4) HIL_DW9_TAP(2, 8) HIL_DW9_TAP(3, 12) HIL_DW9_TAP(4, 16)
            HIL_DW9_TAP(5, 20) HIL_DW9_TAP(6, 24) HIL_DW9_TAP(7, 28) HIL_DW9_TAP(8, 32)
            : [s0] "+h"(s0), [s1] "+h"(s1), [v] "=&l"(v), [x1] "=&l"(x1), [w0] "=&l"(w0), [w1] "=&l"(w1)
            : [tab] "l"(tp), [c] "l"(c), [pw] "l"(w)
            : "cc", "memory");
#undef HIL_DW9_TAP
    *a0 = s0;
    *a1 = s1;
#else
    for (int32_t t = 0; t < 9; ++t) {
        *a0 += (int32_t)tp[t][c] * w[t];
        *a1 += (int32_t)tp[t][c + 1] * w[9 + t];
    }
#endif
}

/* 3x3 depthwise, stride 1, dilation 1, out_w <= 12, with the split requantization table (tab[4c+1]
 * = bias_eff - 128 * sum(w_c)): per channel, its input plane is copied once into scratch as
 * uint8 (x + 128; padding = zero point + 128) with rows HIL_V6M_DWS bytes apart, so every tap of
 * two horizontally adjacent outputs is an immediate-offset LDRB from one base. Per kernel row the
 * six products of the pair chain through two registers (x0*w0, w0*x1, x1*w1, w1*x2, x2*w2, w2*x3),
 * each loaded value destroyed by its last MULS: 19 instructions per 6 MACs. Output channel c
 * depends on input channel c only, and a channel's plane is copied before any of its outputs is
 * written, so `out` may overlap `in` (in-place). w32: 9 int32 taps per channel. */
#define HIL_V6M_DWS 14 /* taps at offsets <= 2 * 14 + 3 = 31, LDRB's immediate range */
HIL_OPT_INL void hil_v6m_dw_pair(const uint8_t *b, const int32_t *w, int32_t *s0, int32_t *s1)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a0 = *s0, a1 = *s1;
    uint32_t x, y;
#define HIL_DWP_ROW(r, wo)                                                                         \
    "ldrb %[x], [%[b], #" #r "]\n\t"                                                               \
    "ldr %[y], [%[w], #" #wo "]\n\t"                                                               \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"                                                                  \
    "ldrb %[x], [%[b], #" #r "+1]\n\t"                                                             \
    "muls %[y], %[x], %[y]\n\t"                                                                    \
    "adds %[a1], %[a1], %[y]\n\t"                                                                  \
    "ldr %[y], [%[w], #" #wo "+4]\n\t"                                                             \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"                                                                  \
    "ldrb %[x], [%[b], #" #r "+2]\n\t"                                                             \
    "muls %[y], %[x], %[y]\n\t"                                                                    \
    "adds %[a1], %[a1], %[y]\n\t"                                                                  \
    "ldr %[y], [%[w], #" #wo "+8]\n\t"                                                             \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"                                                                  \
    "ldrb %[x], [%[b], #" #r "+3]\n\t"                                                             \
    "muls %[y], %[x], %[y]\n\t"                                                                    \
    "adds %[a1], %[a1], %[y]\n\t"
    __asm__(".syntax unified\n\t"
            HIL_DWP_ROW(0, 0) HIL_DWP_ROW(14, 12) HIL_DWP_ROW(28, 24)
            : [a0] "+l"(a0), [a1] "+l"(a1), [x] "=&l"(x), [y] "=&l"(y)
            : [b] "l"(b), [w] "l"(w)
            : "cc", "memory");
#undef HIL_DWP_ROW
    *s0 = a0;
    *s1 = a1;
#else
    for (int32_t ky = 0; ky < 3; ++ky) {
        for (int32_t kx = 0; kx < 3; ++kx) {
            *s0 += (int32_t)b[ky * HIL_V6M_DWS + kx] * w[3 * ky + kx];
            *s1 += (int32_t)b[ky * HIL_V6M_DWS + kx + 1] * w[3 * ky + kx];
        }
    }
#endif
}

/* One output (an odd last column): 9 x (LDRB, LDR, MULS, ADDS). */
HIL_OPT_INL void hil_v6m_dw_one(const uint8_t *b, const int32_t *w, int32_t *s0)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a0 = *s0;
    uint32_t x, y;
#define HIL_DW1_TAP(r, wo)                                                                         \
    "ldrb %[x], [%[b], #" #r "]\n\t"                                                               \
    "ldr %[y], [%[w], #" #wo "]\n\t"                                                               \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"
    __asm__(".syntax unified\n\t"
            HIL_DW1_TAP(0, 0) HIL_DW1_TAP(1, 4) HIL_DW1_TAP(2, 8)
            HIL_DW1_TAP(14, 12) HIL_DW1_TAP(15, 16) HIL_DW1_TAP(16, 20)
            HIL_DW1_TAP(28, 24) HIL_DW1_TAP(29, 28) HIL_DW1_TAP(30, 32)
            : [a0] "+l"(a0), [x] "=&l"(x), [y] "=&l"(y)
            : [b] "l"(b), [w] "l"(w)
            : "cc", "memory");
#undef HIL_DW1_TAP
    *s0 = a0;
#else
    for (int32_t ky = 0; ky < 3; ++ky) {
        for (int32_t kx = 0; kx < 3; ++kx) {
            *s0 += (int32_t)b[ky * HIL_V6M_DWS + kx] * w[3 * ky + kx];
        }
    }
#endif
}

#if defined(HIL_OPT_V6M_ASM)
/* One channel of hil_opt_dw_v6m in one hand-written function: its output rows, pairs then an odd
 * last column, each accumulator requantized from its register. */
typedef struct {
    const uint8_t *b;    /* 0: the plane */
    const int32_t *w;    /* 4: the channel's 9 taps */
    const int32_t *tab;  /* 8: the channel's split table row */
    int8_t *o;           /* 12: its first output */
    int32_t c;           /* 16: output pixel stride (in_c) */
    int32_t lo, hi;      /* 20, 24 */
    const uint8_t *bend; /* 28: plane + out_h * HIL_V6M_DWS */
    int32_t npair;       /* 32: out_w & ~1 */
    int32_t odd;         /* 36: out_w & 1 */
    int32_t skip;        /* 40: HIL_V6M_DWS - npair */
} hil_v6m_dwc_t;

#define HIL_DWC_ROW(r, wo)                                                                         \
    "ldrb r2, [r0, #" #r "]\n\t"                                                                   \
    "ldr r3, [r1, #" #wo "]\n\t"                                                                   \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"                                                                          \
    "ldrb r2, [r0, #" #r "+1]\n\t"                                                                 \
    "muls r3, r2, r3\n\t"                                                                          \
    "adds r5, r5, r3\n\t"                                                                          \
    "ldr r3, [r1, #" #wo "+4]\n\t"                                                                 \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"                                                                          \
    "ldrb r2, [r0, #" #r "+2]\n\t"                                                                 \
    "muls r3, r2, r3\n\t"                                                                          \
    "adds r5, r5, r3\n\t"                                                                          \
    "ldr r3, [r1, #" #wo "+8]\n\t"                                                                 \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"                                                                          \
    "ldrb r2, [r0, #" #r "+3]\n\t"                                                                 \
    "muls r3, r2, r3\n\t"                                                                          \
    "adds r5, r5, r3\n\t"
#define HIL_DWC_ONE(r, wo)                                                                         \
    "ldrb r2, [r0, #" #r "]\n\t"                                                                   \
    "ldr r3, [r1, #" #wo "]\n\t"                                                                   \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"
#define HIL_DWC_RQ(X)                                                                              \
    "ldrh r2, [r6, #8]\n\t"                                                                         \
    "muls r2, " #X ", r2\n\t"                                                                      \
    "asrs r2, r2, #11\n\t"                                                                         \
    "ldrh r3, [r6, #10]\n\t"                                                                         \
    "muls r3, " #X ", r3\n\t"                                                                      \
    "adds r2, r2, r3\n\t"                                                                          \
    "asrs r2, r2, #11\n\t"                                                                         \
    "ldrh r3, [r6, #12]\n\t"                                                                         \
    "muls r3, " #X ", r3\n\t"                                                                      \
    "adds r2, r2, r3\n\t"                                                                          \
    "ldr r3, [r6, #0]\n\t"                                                                        \
    "adds r2, r2, r3\n\t"                                                                          \
    "asrs r2, r2, #9\n\t"                                                                          \
    "asrs " #X ", " #X ", #31\n\t"                                                                 \
    "adds r2, r2, " #X "\n\t"                                                                      \
    "ldrh r3, [r6, #14]\n\t"                                                                        \
    "asrs r2, r2, r3\n\t"                                                                          \
    "cmp r2, r9\n\t"                                                                               \
    "bge 3f\n\t"                                                                                   \
    "mov r2, r9\n"                                                                                 \
    "3:\n\t"                                                                                       \
    "cmp r2, r10\n\t"                                                                              \
    "ble 4f\n\t"                                                                                   \
    "mov r2, r10\n"                                                                                \
    "4:\n\t"                                                                                       \
    "strb r2, [r7, #0]\n\t"                                                                        \
    "add r7, r8\n\t"

__attribute__((naked, noinline, unused)) static void hil_v6m_dwc(hil_v6m_dwc_t *ctx __attribute__((unused)))
{
    __asm__ volatile(
        ".syntax unified\n\t"
        "push {r4, r5, r6, r7, lr}\n\t"
        "mov r4, r8\n\t"
        "mov r5, r9\n\t"
        "mov r6, r10\n\t"
        "mov r7, r11\n\t"
        "push {r4, r5, r6, r7}\n\t"
        "mov r12, r0\n\t"
        "ldr r1, [r0, #4]\n\t"
        "ldr r6, [r0, #8]\n\t"
        "ldr r7, [r0, #12]\n\t"
        "ldr r2, [r0, #16]\n\t"
        "mov r8, r2\n\t"
        "ldr r2, [r0, #20]\n\t"
        "mov r9, r2\n\t"
        "ldr r2, [r0, #24]\n\t"
        "mov r10, r2\n\t"
        "ldr r2, [r0, #28]\n\t"
        "mov lr, r2\n\t"
        "ldr r0, [r0, #0]\n"
        "0:\n\t"                                 /* an output row: r0 = its plane row */
        "mov r2, r12\n\t"
        "ldr r3, [r2, #32]\n\t"
        "adds r3, r0, r3\n\t"
        "mov r11, r3\n\t"
        "cmp r0, r3\n\t"
        "beq 5f\n"
        "1:\n\t"                                 /* two outputs */
        "ldr r4, [r6, #4]\n\t"
        "movs r5, r4\n\t"
        HIL_DWC_ROW(0, 0) HIL_DWC_ROW(14, 12) HIL_DWC_ROW(28, 24)
        HIL_DWC_RQ(r4) HIL_DWC_RQ(r5)
        "adds r0, #2\n\t"
        "cmp r0, r11\n\t"
        "bne 1b\n"
        "5:\n\t"                                 /* an odd last column */
        "mov r2, r12\n\t"
        "ldr r3, [r2, #36]\n\t"
        "cmp r3, #0\n\t"
        "beq 6f\n\t"
        "ldr r4, [r6, #4]\n\t"
        HIL_DWC_ONE(0, 0) HIL_DWC_ONE(1, 4) HIL_DWC_ONE(2, 8)
        HIL_DWC_ONE(14, 12) HIL_DWC_ONE(15, 16) HIL_DWC_ONE(16, 20)
        HIL_DWC_ONE(28, 24) HIL_DWC_ONE(29, 28) HIL_DWC_ONE(30, 32)
        HIL_DWC_RQ(r4)
        "6:\n\t"
        "mov r2, r12\n\t"
        "ldr r3, [r2, #40]\n\t"
        "adds r0, r0, r3\n\t"
        "cmp r0, lr\n\t"
        "beq 9f\n\t"
        "b 0b\n"
        "9:\n\t"
        "pop {r4, r5, r6, r7}\n\t"
        "mov r8, r4\n\t"
        "mov r9, r5\n\t"
        "mov r10, r6\n\t"
        "mov r11, r7\n\t"
        "pop {r4, r5, r6, r7, pc}\n\t");
}
#undef HIL_DWC_ROW
#undef HIL_DWC_ONE
#undef HIL_DWC_RQ
#endif

HIL_OPT_FN void hil_opt_dw_v6m(const hil_opt_conv_t *p, const int8_t *in, const int32_t *w32, const int32_t *tab,
                               uint8_t *plane, int8_t *out)
{
    const int32_t C = p->in_c, ih = p->in_h, iw = p->in_w, oh = p->out_h, ow = p->out_w;
    const int32_t pt = p->pad_h, pl = p->pad_w, lo = p->act_min, hi = p->act_max;
    /* plane row py holds input row py - pt, column px input column px - pl */
    const int32_t y0 = pt > 0 ? 0 : -pt, y1 = ih < oh + 2 - pt ? ih : oh + 2 - pt;
    const int32_t x0 = pl > 0 ? 0 : -pl, x1 = iw < ow + 2 - pl ? iw : ow + 2 - pl;
    memset(plane, (uint8_t)(p->in_zp + 128), (size_t)((oh + 2) * HIL_V6M_DWS));
    for (int32_t bt = 0; bt < p->batches; ++bt) {
        const int8_t *in_b = in + bt * ih * iw * C;
        int8_t *out_b = out + bt * oh * ow * C;
        for (int32_t c = 0; c < C; ++c) {
            for (int32_t y = y0; y < y1; ++y) {
                const int8_t *s = in_b + (y * iw + x0) * C + c;
                uint8_t *d = plane + (y + pt) * HIL_V6M_DWS + x0 + pl;
                uint8_t *e = d + (x1 - x0);
                for (; d < e; ++d, s += C) {
                    *d = (uint8_t)(*s + 128);
                }
            }
            const int32_t *wc = w32 + 9 * c, *tc = tab + HIL_V6M_RQ_WORDS * c;
            int8_t *o = out_b + c;
#if defined(HIL_OPT_V6M_ASM)
            if (oh > 0 && ow > 0) {
                /* the arguments after the plane in the scratch (the generator adds their words) */
                hil_v6m_dwc_t *g = (hil_v6m_dwc_t *)(void *)(plane + HIL_V6M_DWS * ((oh + 5) & ~3));
                g->b = plane;
                g->w = wc;
                g->tab = tc;
                g->o = o;
                g->c = C;
                g->lo = lo;
                g->hi = hi;
                g->bend = plane + oh * HIL_V6M_DWS;
                g->npair = ow & ~1;
                g->odd = ow & 1;
                g->skip = HIL_V6M_DWS - (ow & ~1);
                hil_v6m_dwc(g);
            }
            continue;
#endif
            for (int32_t oy = 0; oy < oh; ++oy) {
                const uint8_t *b = plane + oy * HIL_V6M_DWS;
                const uint8_t *e = b + (ow & ~1);
                for (; b < e; b += 2) {
                    int32_t a0 = tc[1], a1 = a0;
                    hil_v6m_dw_pair(b, wc, &a0, &a1);
                    hil_v6m_rqs(a0, tc, lo, hi, o);
                    hil_v6m_rqs(a1, tc, lo, hi, o + C);
                    o += 2 * C;
                }
                if (ow & 1) {
                    int32_t a0 = tc[1];
                    hil_v6m_dw_one(b, wc, &a0);
                    hil_v6m_rqs(a0, tc, lo, hi, o);
                    o += C;
                }
            }
        }
    }
}
#endif

HIL_OPT_FN void hil_opt_dw_s8(const hil_opt_conv_t *params, const int8_t *in, const int8_t *w8, const int16_t *w16,
                              const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                              int32_t *scratch, int8_t *out)
{
    /* a local copy: stores through int8_t pointers cannot alias it, so fields stay in registers */
    const hil_opt_conv_t pcopy = *params;
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c, kh = p->k_h, kw = p->k_w, taps = kh * kw;
    /* the tap table lives in the scratch, not on the stack (small stacks: 2 KB on the M0+ boards) */
    const int8_t **tp = (const int8_t **)(void *)scratch;
    int8_t *zrow = (int8_t *)(void *)(tp + taps);
    (void)w16;
    (void)w8;
    for (int32_t c = 0; c < C; ++c) {
        zrow[c] = (int8_t)p->in_zp;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
#if defined(HIL_OPT_DSP)
                const int32_t interior = y0 >= 0 && y0 + (kh - 1) * p->dil_h < p->in_h && x0 >= 0 &&
                                         x0 + (kw - 1) * p->dil_w < p->in_w;
#else
                const int32_t interior = 0;
#endif
                if (!interior || (C & 3) != 0) { /* the tap table: only where the fast path needs none */
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int32_t y = y0 + ky * p->dil_h;
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const int32_t x = x0 + kx * p->dil_w;
                            tp[ky * kw + kx] = (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w)
                                                   ? in_b + (y * p->in_w + x) * C : zrow;
                        }
                    }
                }
#if defined(HIL_OPT_DSP)
                if ((C & 3) == 0 && interior) {
                    /* every tap at a constant offset from one base: immediate-offset loads */
                    const uint32_t *wq = (const uint32_t *)(const void *)w16;
                    const int8_t *base = in_b + (y0 * p->in_w + x0) * C;
                    for (int32_t g = 0; g < C; g += 4) {
                        int32_t a0 = bias[g], a1 = bias[g + 1], a2 = bias[g + 2], a3 = bias[g + 3];
                        const uint32_t *wt = wq + g / 2;
                        _Pragma("GCC unroll 16")
                        for (int32_t t = 0; t < taps; ++t) {
                            const int32_t ky = t / kw, kx = t - (t / kw) * kw;
                            const uint32_t x = hil_load32(base + (ky * p->dil_h * p->in_w + kx * p->dil_w) * C + g);
                            const uint32_t x02 = hil_sxtb16(x), x13 = hil_sxtb16_ror8(x);
                            const uint32_t w0 = wt[t * (C / 2)], w1 = wt[t * (C / 2) + 1];
                            a0 = hil_smlabb(x02, w0, a0);
                            a2 = hil_smlatt(x02, w0, a2);
                            a1 = hil_smlabb(x13, w1, a1);
                            a3 = hil_smlatt(x13, w1, a3);
                        }
                        HIL_OPT_BARRIER(); /* keep the requantization loads here: hoisted, they spill */
                        out[g] = hil_opt_out(p, a0, g, mult, rsh, lsh);
                        out[g + 1] = hil_opt_out(p, a1, g + 1, mult, rsh, lsh);
                        out[g + 2] = hil_opt_out(p, a2, g + 2, mult, rsh, lsh);
                        out[g + 3] = hil_opt_out(p, a3, g + 3, mult, rsh, lsh);
                    }
                    out += C;
                    continue;
                }
                if ((C & 3) == 0) {
                    const uint32_t *wq = (const uint32_t *)(const void *)w16;
                    for (int32_t g = 0; g < C; g += 4) {
                        int32_t a0 = bias[g], a1 = bias[g + 1], a2 = bias[g + 2], a3 = bias[g + 3];
                        const uint32_t *wt = wq + g / 2;
                        HIL_OPT_UNROLL
                        for (int32_t t = 0; t < taps; ++t, wt += C / 2) {
                            const uint32_t x = hil_load32(tp[t] + g);
                            const uint32_t x02 = hil_sxtb16(x), x13 = hil_sxtb16_ror8(x);
                            a0 = hil_smlabb(x02, wt[0], a0);
                            a2 = hil_smlatt(x02, wt[0], a2);
                            a1 = hil_smlabb(x13, wt[1], a1);
                            a3 = hil_smlatt(x13, wt[1], a3);
                        }
                        out[g] = hil_opt_out(p, a0, g, mult, rsh, lsh);
                        out[g + 1] = hil_opt_out(p, a1, g + 1, mult, rsh, lsh);
                        out[g + 2] = hil_opt_out(p, a2, g + 2, mult, rsh, lsh);
                        out[g + 3] = hil_opt_out(p, a3, g + 3, mult, rsh, lsh);
                    }
                    out += C;
                    continue;
                }
#endif
#if defined(HIL_OPT_V6M)
                /* with no left shift, `lsh` carries the generator's split table (hil_v6m_rq; with an
                 * even channel count the generator then emits no mult/rsh arrays). The channel-plane
                 * path runs at -Os too: the generator relies on it to run such layers in place
                 * (optimized.py, v6m_plane_dw) */
                const int32_t *tab = p->has_lshift ? (const int32_t *)0 : lsh;
                if (kh == 3 && kw == 3 && w16 && tab && p->stride_h == 1 && p->stride_w == 1 && p->dil_h == 1 &&
                    p->dil_w == 1 && p->out_w <= HIL_V6M_DWS - 2) { /* the whole layer, from its first pixel */
                    hil_opt_dw_v6m(p, in, (const int32_t *)(const void *)w16, tab, (uint8_t *)(void *)scratch, out);
                    return;
                }
                if (taps == 9 && (C & 1) == 0 && w16) {
                    const int32_t *wq = (const int32_t *)(const void *)w16; /* v6-M: 9 int32 per channel */
                    for (int32_t c = 0; c < C; c += 2, wq += 18) {
                        int32_t a0 = bias[c], a1 = bias[c + 1];
                        hil_opt_dw9_v6m(tp, c, wq, &a0, &a1);
                        if (tab) {
                            out[c] = hil_v6m_clamp(hil_v6m_rq(a0, tab + HIL_V6M_RQ_WORDS * c), p->act_min, p->act_max);
                            out[c + 1] = hil_v6m_clamp(hil_v6m_rq(a1, tab + HIL_V6M_RQ_WORDS * (c + 1)), p->act_min,
                                                       p->act_max);
                        } else {
                            out[c] = hil_opt_out(p, a0, c, mult, rsh, lsh);
                            out[c + 1] = hil_opt_out(p, a1, c + 1, mult, rsh, lsh);
                        }
                    }
                    out += C;
                    continue;
                }
#endif
                for (int32_t c = 0; c < C; ++c) {
                    int32_t acc = bias[c];
                    const int8_t *wc = w8 + c;
                    HIL_OPT_UNROLL
                    for (int32_t t = 0; t < taps; ++t, wc += C) {
                        acc += (int32_t)tp[t][c] * (int32_t)*wc;
                    }
                    out[c] = hil_opt_out(p, acc, c, mult, rsh, lsh);
                }
                out += C;
            }
        }
    }
}

#endif /* HIL_OPT_S8_H */
