/* Optimized int8 kernels for the cores with the DSP extension (Cortex-M4/M7/M33/M55), chosen at
 * generation time (harness/codegen/optimized.py); shared parts in opt_common.h.
 *
 * - Conv / FC (hil_opt_conv_dsp): two rows are sign-extended once into 16-bit pairs (SXTB16, bytes
 *   0,2 and 1,3 of each word); the weights are stored by the generator already as 16-bit pairs in
 *   that order, so a 2x2 block (2 pixels x 2 channels) is 4 loads + 4 SMLAD per 8 MACs (prefer
 *   speed). With int8 weights (prefer size, the default): hil_opt_conv_dsp8 in opt_dsp_mm8.h.
 * - Depthwise: opt_dsp_dw.h, opt_dsp_dwp.h. Requantization in 6 instructions (hil_opt_rq2_dsp, opt_common.h).
 * - Average pool (hil_opt_avgpool_s8): SXTAB16 lane sums.
 */
#ifndef HIL_OPT_DSP_H
#define HIL_OPT_DSP_H
#ifndef HIL_OPT_DSP
#define HIL_OPT_DSP 1 /* the family marker (tests and docs test it) */
#endif

#include "opt_common.h"
#include "pooling.h"
/* int8 row (k values) -> 16-bit pairs (b0,b2),(b1,b3),(b4,b6),... zero padded to kp values,
 * written as 2-word steps `step` words apart (dst[step * s], dst[step * s + 1]): the other rows
 * of a block fill the words between, so one pointer walks them all with post-incremented LDRDs
 * (hil_opt_conv_dsp: a row pair, step 4; opt_dsp_mm8.h: HIL_MM8_ROWS rows). dbl: store 2 x the
 * values (rq30 == 2 layers: their requantization then skips its doubling, hil_opt_rq30). */
HIL_OPT_INL void hil_opt_widen2_dsp(const int8_t *src, int32_t k, uint32_t *dst, int32_t step, int32_t dbl)
{
    int32_t i = 0;
    if (dbl) { /* 2 x each value: one SXTAB16 of the word more (a loop of its own: no test per word at -Os) */
        for (; i + 4 <= k; i += 4, dst += step) {
            const uint32_t w = hil_load32(src + i);
            dst[0] = hil_sxtab16(hil_sxtb16(w), w);
            dst[1] = hil_sxtab16_ror8(hil_sxtb16_ror8(w), w);
        }
    } else {
        for (; i + 4 <= k; i += 4, dst += step) {
            const uint32_t w = hil_load32(src + i);
            dst[0] = hil_sxtb16(w);
            dst[1] = hil_sxtb16_ror8(w);
        }
    }
    if (i < k) {
        uint32_t w = 0;
        for (int32_t j = 0; i + j < k; ++j) {
            w |= (uint32_t)(uint8_t)src[i + j] << (8 * j);
        }
        const uint32_t lo = hil_sxtb16(w), hi = hil_sxtb16_ror8(w);
        dst[0] = dbl ? hil_sxtab16(lo, w) : lo;
        dst[1] = dbl ? hil_sxtab16_ror8(hi, w) : hi;
    }
}
#define hil_opt_widen_dsp(src, k, dst, step) hil_opt_widen2_dsp(src, k, dst, step, 0)

/* The matrix kernels' requantization when every right shift is >= 2 and every accumulator fits
 * 30 bits (the generator checks both: hil_opt_conv_t.rq30): TFLM's rounding doubling high multiply
 * is floor((acc * m + 2^30) / 2^31) for either sign, i.e. SMMULR of 2 * acc; its round-half-away
 * division by 2^rs and the output offset are one addend kk = (1 + 2 * offset) << (rs - 1) (per
 * channel: hil_opt_rq30_k), the sign of acc (a product in [-2^30, 0) rounds to 0 either way) and
 * a floor division: LSL, SMMLAR, ADD, ASR, SSAT (5 instructions, 6 with hil_opt_rq2_dsp). r: rs - 1
 * (the DSP int8-weight stream holds rs - 1 for these layers). sh: 1, or 0 when acc is already
 * doubled (rq30 == 2: p->rq30 & 1). */
#define hil_opt_rq30_k(off, r) ((int32_t)((uint32_t)(1 + 2 * (off)) << (r)))
HIL_OPT_INL int32_t hil_opt_rq30(int32_t acc, int32_t m, int32_t r, int32_t kk, int32_t sh)
{
#if defined(HIL_OPT_RQ_ASM) && HIL_SIMD_NATIVE
    int32_t t;
    if (__builtin_constant_p(sh) && sh == 0) { /* acc is already 2 x the accumulator (rq30 == 2) */
        __asm__("smmlar %[t], %[a], %[m], %[kk]\n\t"
                "add %[t], %[t], %[a], asr #31\n\t"
                "asr %[t], %[t], %[r]\n\t"
                "ssat %[t], #8, %[t], asr #1"
                : [t] "=&r"(t)
                : [a] "r"(acc), [m] "r"(m), [r] "r"(r), [kk] "r"(kk));
        return t;
    }
    __asm__("lsl %[t], %[a], %[sh]\n\t" /* an immediate #1 when sh is known */
            "smmlar %[t], %[t], %[m], %[kk]\n\t"
            "add %[t], %[t], %[a], asr #31\n\t"
            "asr %[t], %[t], %[r]\n\t"
            "ssat %[t], #8, %[t], asr #1"
            : [t] "=&r"(t)
            : [a] "r"(acc), [m] "r"(m), [r] "r"(r), [kk] "r"(kk), [sh] "rI"(sh));
    return t;
#else
    const int32_t y = (int32_t)((uint64_t)((int64_t)acc * (1 << sh) * m + 0x80000000LL) >> 32);
    const int32_t t = ((y + kk + (acc >> 31)) >> r) >> 1;
    return t < -128 ? -128 : (t > 127 ? 127 : t);
#endif
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
 * block of kp words, per step (wa, wa', wb, wb') of 16-bit pairs. An odd last channel is paired
 * with zeros. Per 16 MACs: 4 LDRD + 8 SMLAD. (Int8 weights: hil_opt_conv_dsp8, opt_dsp_mm8.h.) */
static inline __attribute__((always_inline)) void hil_opt_mm_dsp(const hil_opt_conv_t *p, const uint32_t *col,
                                                                 int32_t two, const uint32_t *w, const int32_t *bias,
                                                                 const int32_t *mult, const int32_t *rsh,
                                                                 const int32_t *lsh, int8_t *o0, int8_t *o1)
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
        /* at -O2 fully unrolled for the usual depths (<= 64) */
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

/* Conv / FC as a matrix product, two rows at a time. w: generator layout (hil_opt_mm_dsp); bias/mult/rsh padded to an even channel count. scratch: kp/4 + kp words. */
#define HIL_OPT_BODY static inline __attribute__((always_inline, unused)) /* specialised per weight width */
HIL_OPT_BODY void hil_opt_conv_dsp_body(const hil_opt_conv_t *params, const int8_t *in, const void *w,
                                        const int32_t *bias, const int32_t *mult, const int32_t *rsh,
                                        const int32_t *lsh, int32_t *scratch, int8_t *out)
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
            hil_opt_widen_dsp(in + r * p->k, p->k, col, 4);
            if (two) {
                hil_opt_widen_dsp(in + r1 * p->k, p->k, col + 2, 4);
            }
        } else {
            hil_opt_im2col(p, in, r, tmp);
            hil_opt_widen_dsp(tmp, p->k, col, 4);
            if (two) {
                hil_opt_im2col(p, in, r1, tmp);
                hil_opt_widen_dsp(tmp, p->k, col + 2, 4);
            }
        }
        hil_opt_mm_dsp(p, col, two, (const uint32_t *)w, bias, mult, rsh, lsh, out + r * p->out_c,
                       out + (r + 1) * p->out_c);
    }
}


/* Conv / FC with 16-bit weight pairs (prefer speed); int8 weights: hil_opt_conv_dsp8 (opt_dsp_mm8.h). */
HIL_OPT_FN void hil_opt_conv_dsp(const hil_opt_conv_t *params, const int8_t *in, const int16_t *w, const int32_t *bias,
                                 const int32_t *mult, const int32_t *rsh, const int32_t *lsh, int32_t *scratch,
                                 int8_t *out)
{
    hil_opt_conv_dsp_body(params, in, w, bias, mult, rsh, lsh, scratch, out);
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

#endif /* HIL_OPT_DSP_H */
