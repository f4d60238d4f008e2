/* Optimized int8 depthwise kernels for the cores with the DSP extension (Cortex-M4/M7/M33/M55),
 * chosen at generation time (harness/codegen/optimized.py); shared parts in opt_common.h.
 *
 * - hil_opt_dwr_s8 / hil_opt_dwr8_s8: zero-point-padded input rows in a mirrored ring, 4 channels
 *   per word, SMLABB/SMLATT; natively in place.
 * - hil_opt_dw_dsp / hil_opt_dw_dsp8: any window, interior pixels at constant offsets, the border
 *   through the tap table.
 */
#ifndef HIL_OPT_DSP_DW_H
#define HIL_OPT_DSP_DW_H

#include "opt_common.h"
#define HIL_DW_BODY static inline __attribute__((always_inline, unused)) /* specialised per weight width */

/* Depthwise, depth multiplier 1, in_c % 4 == 0 (the generator checks), over zero-point-padded
 * copies of the input rows. Padded row v (input row v - pad_h, or zero points outside the input)
 * is stored twice, in slots v % span and v % span + span of a ring of 2 * span rows, so every
 * window's rows are consecutive: one base pointer and constant offsets for every tap, no bounds
 * checks. Each input row is copied before any output row is stored over it, so with row stride 1
 * the output may overwrite the input (the planner runs the layer in place).
 * q (one stream, one pointer): per 4 channels, per tap 16-bit (w0,w2),(w1,w3) (one LDRD a tap;
 * hil_opt_dwr8_s8: instead one word of 4 int8, unpacked by 2 SXTB16), then the 4 channels' bias_eff,
 * multipliers and right shifts.
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
/* The same with the tap's 4 weights as one int8 word (prefer size): 9 instructions. */
#define HIL_DWR_TAP8(XP, XO, WP, WO)                                                               \
    do {                                                                                           \
        uint32_t x_, t_, w0_, w1_;                                                                 \
        __asm__("ldr %[x], [%[px], %[xo]]\n\t"                                                      \
                "ldr %[w1], [%[pw], %[wo]]\n\t"                                                     \
                "sxtb16 %[t], %[x]\n\t"                                                             \
                "sxtb16 %[w0], %[w1]\n\t"                                                           \
                "sxtb16 %[x], %[x], ror #8\n\t"                                                     \
                "sxtb16 %[w1], %[w1], ror #8\n\t"                                                   \
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

HIL_DW_BODY void hil_opt_dwr_body(const hil_opt_conv_t *params, const int8_t *in, const uint32_t *q,
                                   const int32_t *lsh, int32_t *scratch, int8_t *out, const int w8)
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
                for (int32_t g = 0; g < C; g += 4, wq += (w8 ? 1 : 2) * taps + 12, x += 4, o += 4) {
                    const int32_t *k = (const int32_t *)(const void *)(wq + (w8 ? 1 : 2) * taps);
                    int32_t a0 = k[0], a1 = k[1], a2 = k[2], a3 = k[3];
#if HIL_SIMD_NATIVE && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
                    if (w8) {
                        HIL_OPT_UNROLL_K
                        for (int32_t t = 0; t < taps; ++t) {
                            const int32_t ky = t / p->k_w, kx = t - (t / p->k_w) * p->k_w;
                            HIL_DWR_TAP8(x, ky * p->dil_h * rowb + kx * p->dil_w * C, wq, 4 * t);
                        }
                    } else {
                        HIL_OPT_UNROLL_K
                        for (int32_t t = 0; t < taps; ++t) { /* constant offsets once unrolled */
                            const int32_t ky = t / p->k_w, kx = t - (t / p->k_w) * p->k_w;
                            HIL_DWR_TAP(x, ky * p->dil_h * rowb + kx * p->dil_w * C, wq, 8 * t);
                        }
                    }
#else
                    for (int32_t t = 0; w8 && t < taps; ++t) { /* rolled (-Os, the host), int8 words */
                        const uint32_t xv = hil_load32(x + xoff[t]);
                        const uint32_t x02 = hil_sxtb16(xv), x13 = hil_sxtb16_ror8(xv);
                        const uint32_t w0 = hil_sxtb16(wq[t]), w1 = hil_sxtb16_ror8(wq[t]);
                        a0 = hil_smlabb(x02, w0, a0);
                        a2 = hil_smlatt(x02, w0, a2);
                        a1 = hil_smlabb(x13, w1, a1);
                        a3 = hil_smlatt(x13, w1, a3);
                    }
                    for (int32_t t = 0; !w8 && t < taps; ++t) { /* rolled: offsets from the table */
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


/* Depthwise over the ring with 16-bit weight pairs (prefer speed) and with int8 words (size). */
HIL_OPT_FN void hil_opt_dwr_s8(const hil_opt_conv_t *params, const int8_t *in, const uint32_t *q, const int32_t *lsh,
                               int32_t *scratch, int8_t *out)
{
    hil_opt_dwr_body(params, in, q, lsh, scratch, out, 0);
}

HIL_OPT_FN void hil_opt_dwr8_s8(const hil_opt_conv_t *params, const int8_t *in, const uint32_t *q, const int32_t *lsh,
                                int32_t *scratch, int8_t *out)
{
    hil_opt_dwr_body(params, in, q, lsh, scratch, out, 1);
}

/* Depthwise, depth multiplier 1, any window (hil_opt_dwr_s8 takes the common ones). w8: the 1HWC
 * filter as is; w16 (in_c % 4 == 0, prefer speed): per tap, per 4 channels, 16-bit (w0,w2),(w1,w3);
 * hil_opt_dw_dsp8 (prefer size) unpacks the 4 channels' word of w8 instead (SXTB16). Interior
 * pixels read every tap at a constant offset from one base; border pixels go through the tap
 * table (opt_common.h). No bounds checks inside. */
HIL_DW_BODY void hil_opt_dw_dsp_body(const hil_opt_conv_t *params, const int8_t *in, const int8_t *w8,
                                      const int16_t *w16, const int32_t *bias, const int32_t *mult, const int32_t *rsh,
                                      const int32_t *lsh, int32_t *scratch, int8_t *out, const int words8)
{
    /* a local copy: stores through int8_t pointers cannot alias it, so fields stay in registers */
    const hil_opt_conv_t pcopy = *params;
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c, kh = p->k_h, kw = p->k_w, taps = kh * kw;
    /* the tap table lives in the scratch, not on the stack */
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
                const int32_t interior = y0 >= 0 && y0 + (kh - 1) * p->dil_h < p->in_h && x0 >= 0 &&
                                         x0 + (kw - 1) * p->dil_w < p->in_w;
                if (!interior || (C & 3) != 0) { /* the tap table: only where the fast path needs none */
                    hil_opt_dw_taps(p, in_b, y0, x0, zrow, tp);
                }
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
                            uint32_t w0, w1;
                            if (words8) { /* the 1HWC filter's word of these 4 channels (prefer size) */
                                const uint32_t w = hil_load32(w8 + t * C + g);
                                w0 = hil_sxtb16(w);
                                w1 = hil_sxtb16_ror8(w);
                            } else {
                                w0 = wt[t * (C / 2)];
                                w1 = wt[t * (C / 2) + 1];
                            }
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
                            const uint32_t w = words8 ? hil_load32(w8 + t * C + g) : 0;
                            const uint32_t w0 = words8 ? hil_sxtb16(w) : wt[0];
                            const uint32_t w1 = words8 ? hil_sxtb16_ror8(w) : wt[1];
                            a0 = hil_smlabb(x02, w0, a0);
                            a2 = hil_smlatt(x02, w0, a2);
                            a1 = hil_smlabb(x13, w1, a1);
                            a3 = hil_smlatt(x13, w1, a3);
                        }
                        out[g] = hil_opt_out(p, a0, g, mult, rsh, lsh);
                        out[g + 1] = hil_opt_out(p, a1, g + 1, mult, rsh, lsh);
                        out[g + 2] = hil_opt_out(p, a2, g + 2, mult, rsh, lsh);
                        out[g + 3] = hil_opt_out(p, a3, g + 3, mult, rsh, lsh);
                    }
                    out += C;
                    continue;
                }
                hil_opt_dw_pixel(p, tp, w8, bias, mult, rsh, lsh, out);
                out += C;
            }
        }
    }
}

HIL_OPT_FN void hil_opt_dw_dsp(const hil_opt_conv_t *params, const int8_t *in, const int8_t *w8, const int16_t *w16,
                               const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                               int32_t *scratch, int8_t *out)
{
    hil_opt_dw_dsp_body(params, in, w8, w16, bias, mult, rsh, lsh, scratch, out, 0);
}

HIL_OPT_FN void hil_opt_dw_dsp8(const hil_opt_conv_t *params, const int8_t *in, const int8_t *w8, const int16_t *w16,
                                const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                                int32_t *scratch, int8_t *out)
{
    hil_opt_dw_dsp_body(params, in, w8, w16, bias, mult, rsh, lsh, scratch, out, 1);
}

/* SMLATB / SMLADX (not in hil_simd.h): top(x) * bottom(y) + acc; x.lo * y.hi + x.hi * y.lo + acc. */
#if HIL_SIMD_NATIVE
static inline int32_t hil_dw_smlatb(uint32_t x, uint32_t y, int32_t acc) { return __smlatb((int32_t)x, (int32_t)y, acc); }
static inline int32_t hil_dw_smladx(uint32_t x, uint32_t y, int32_t acc)
{
    return __smladx((int16x2_t)x, (int16x2_t)y, acc);
}
/* (int16)lo | (int16)hi << 16: PKHBT */
static inline uint32_t hil_dw_pack16(int32_t lo, int32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi)); /* no ACLE intrinsic in gcc 12 */
    return r;
}
#else
static inline uint32_t hil_dw_pack16(int32_t lo, int32_t hi) { return (uint32_t)(uint16_t)lo | (uint32_t)hi << 16; }
static inline int32_t hil_dw_smlatb(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hil_hi16(x) * hil_lo16(y)));
}
static inline int32_t hil_dw_smladx(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hil_lo16(x) * hil_hi16(y)) + (uint32_t)(hil_hi16(x) * hil_lo16(y)));
}
#endif

/* Depthwise 3x3, depth multiplier 1, stride 1 or 2 (either axis), any channel count, every right
 * shift >= 2 and no left shift (the generator checks), one channel at a time over its own plane:
 * - the channel's padded input plane is copied into the scratch as int16 (two LDRSB + PKHBT + STR
 *   per 2 values; the zero-point border is written once per call), so a word holds two horizontally
 *   adjacent pixels P_j = (x_2j, x_2j+1) and SMLAD multiplies two taps of one channel at once;
 * - per kernel row r the stream holds one int8 word (w_r0, w_r2, w_r1, w_r1), unpacked once per
 *   channel by SXTB16 / SXTB16 ROR 8 into Wa = (w_r0, w_r1) and Wb = (w_r2, w_r1);
 * - stride 1, two outputs per step, per kernel row: out_o += SMLAD(P_j, Wa) + SMLABB(P_j+1, Wb),
 *   out_o+1 += SMLATB(P_j, Wa) + SMLADX(P_j+1, Wb): 4 instructions per 6 MACs; stride 2:
 *   out_o += SMLAD(P_o, Wa) + SMLABB(P_o+1, Wb).
 * At -O2 on the DSP cores a channel's rows are one asm block (14 registers; HIL_DWP_CHANNEL):
 * per row steps of 4 outputs (stride 1: 68 instructions per 36 MACs), then one of 3, 2 or 1
 * as out_w needs, then 5 instructions to the next row; the plane's rows of >= 8 values are copied
 * by an asm step of 8 (17 instructions).
 * A channel's plane is copied before any of its outputs is stored, and an output only overwrites
 * its own channel's inputs: in place natively. q: per channel (w_0, w_1, w_2 words, bias_eff,
 * multiplier, right shift - 2). scratch: the plane, ((out_h - 1) * stride_h + 3) rows of
 * ((out_w - 1) * stride_w + 5) / 2 words. */
#if HIL_SIMD_NATIVE && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
#define HIL_DWP_ASM 1
/* the 6-instruction requantization of opt_common.h (hil_opt_rq2_dsp) of accumulator S into t, then
 * the activation clamps inside the int8 range (assembled only when the layer has them) */
#define HIL_DWP_RQ(S)                                                                              \
    "asr %[t], %[" S "], #31\n\t"                                                                  \
    "add %[x], %[k30], %[t], lsl #31\n\t"                                                          \
    "smlal %[x], %[t], %[" S "], %[m]\n\t"                                                         \
    "asr %[t], %[t], %[rsn]\n\t"                                                                   \
    "add %[t], %[t], %[k]\n\t"                                                                     \
    "ssat %[t], #8, %[t], asr #1\n\t"                                                              \
    ".if %c[lo]\n\tcmp %[t], %[amin]\n\tit lt\n\tmovlt %[t], %[amin]\n\t.endif\n\t"                \
    ".if %c[hi]\n\tcmp %[t], %[amax]\n\tit gt\n\tmovgt %[t], %[amax]\n\t.endif\n\t"
/* kernel row at byte offset E (an assembler expression on e1, the byte step of a plane row; rows
 * 1, 2: weights at WO) of a stride-1 step of 2 / 4 outputs, of a single output (stride 2, or
 * stride 1's odd last one) and of stride 2's steps of 2 / 4 outputs; pp has moved 4 / 8 / 4 / 8 / 16 on */
#define HIL_DWP_ROW2(WO, E)                                                                        \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    "ldr %[t], [%[pp], #" E "-4]\n\t"                                                              \
    "ldr %[x], [%[pp], #" E "]\n\t"                                                                \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlatb %[s1], %[t], %[wa], %[s1]\n\t"                                                         \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"
#define HIL_DWP_ROW4(WO, E)                                                                        \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    "ldr %[t], [%[pp], #" E "-8]\n\t"                                                              \
    "ldr %[x], [%[pp], #" E "-4]\n\t"                                                              \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlatb %[s1], %[t], %[wa], %[s1]\n\t"                                                         \
    "ldr %[t], [%[pp], #" E "]\n\t"                                                                \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[s2]\n\t"                                                          \
    "smlatb %[s3], %[x], %[wa], %[s3]\n\t"                                                         \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"                                                         \
    "smladx %[s3], %[t], %[wb], %[s3]\n\t"
#define HIL_DWP_ROW1(WO, E)                                                                        \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    "ldr %[t], [%[pp], #" E "-4]\n\t"                                                              \
    "ldr %[x], [%[pp], #" E "]\n\t"                                                                \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"
#define HIL_DWP_ROW2S2(WO, E)                                                                      \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    "ldr %[t], [%[pp], #" E "-8]\n\t"                                                              \
    "ldr %[x], [%[pp], #" E "-4]\n\t"                                                              \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s1]\n\t"                                                          \
    "ldr %[t], [%[pp], #" E "]\n\t"                                                                \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"
#define HIL_DWP_ROW4S2(WO, E)                                                                      \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    "ldr %[t], [%[pp], #" E "-16]\n\t"                                                             \
    "ldr %[x], [%[pp], #" E "-12]\n\t"                                                             \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s1]\n\t"                                                          \
    "ldr %[t], [%[pp], #" E "-8]\n\t"                                                              \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[s2]\n\t"                                                          \
    "ldr %[x], [%[pp], #" E "-4]\n\t"                                                              \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"                                                         \
    "smlad %[s3], %[x], %[wa], %[s3]\n\t"                                                          \
    "ldr %[t], [%[pp], #" E "]\n\t"                                                                \
    "smlabb %[s3], %[t], %[wb], %[s3]\n\t"
#define HIL_DWP_ROW3(WO, E)                                                                        \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    "ldr %[t], [%[pp], #" E "-8]\n\t"                                                              \
    "ldr %[x], [%[pp], #" E "-4]\n\t"                                                              \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlatb %[s1], %[t], %[wa], %[s1]\n\t"                                                         \
    "ldr %[t], [%[pp], #" E "]\n\t"                                                                \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"
#define HIL_DWP_ROW3S2(WO, E)                                                                      \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    "ldr %[t], [%[pp], #" E "-12]\n\t"                                                             \
    "ldr %[x], [%[pp], #" E "-8]\n\t"                                                              \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s1]\n\t"                                                          \
    "ldr %[t], [%[pp], #" E "-4]\n\t"                                                              \
    "ldr %[x], [%[pp], #" E "]\n\t"                                                                \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"
#define HIL_DWP_E1 "%c[e1]"
#define HIL_DWP_E2 "%c[e1]*2"
/* Kernel row 0 of each step (every accumulator starts from the bias, wt[6]), then rows 1 and 2 */
#define HIL_DWP_QUAD1                                                                              \
    "ldr %[s0], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldr %[t], [%[pp]], #8\n\t"                                                                    \
    "ldr %[x], [%[pp], #-4]\n\t"                                                                   \
    "smlatb %[s1], %[t], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[s0]\n\t"                                                          \
    "smlatb %[s3], %[x], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"                                                         \
    "smladx %[s3], %[t], %[wb], %[s3]\n\t"                                                         \
    HIL_DWP_ROW4("8", HIL_DWP_E1) HIL_DWP_ROW4("16", HIL_DWP_E2)
#define HIL_DWP_QUAD2                                                                              \
    "ldr %[s3], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldr %[t], [%[pp]], #16\n\t"                                                                   \
    "ldr %[x], [%[pp], #-12]\n\t"                                                                  \
    "smlad %[s0], %[t], %[wa], %[s3]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s3]\n\t"                                                          \
    "ldr %[t], [%[pp], #-8]\n\t"                                                                   \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[s3]\n\t"                                                          \
    "ldr %[x], [%[pp], #-4]\n\t"                                                                   \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"                                                         \
    "smlad %[s3], %[x], %[wa], %[s3]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s3], %[t], %[wb], %[s3]\n\t"                                                         \
    HIL_DWP_ROW4S2("8", HIL_DWP_E1) HIL_DWP_ROW4S2("16", HIL_DWP_E2)
#define HIL_DWP_PAIR1                                                                              \
    "ldr %[s0], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldr %[t], [%[pp]], #4\n\t"                                                                    \
    "ldr %[x], [%[pp]]\n\t"                                                                        \
    "smlatb %[s1], %[t], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    HIL_DWP_ROW2("8", HIL_DWP_E1) HIL_DWP_ROW2("16", HIL_DWP_E2)
#define HIL_DWP_PAIR2                                                                              \
    "ldr %[s1], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldr %[t], [%[pp]], #8\n\t"                                                                    \
    "ldr %[x], [%[pp], #-4]\n\t"                                                                   \
    "smlad %[s0], %[t], %[wa], %[s1]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s1]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    HIL_DWP_ROW2S2("8", HIL_DWP_E1) HIL_DWP_ROW2S2("16", HIL_DWP_E2)
#define HIL_DWP_TRIPLE1                                                                            \
    "ldr %[s0], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldr %[t], [%[pp]], #8\n\t"                                                                    \
    "ldr %[x], [%[pp], #-4]\n\t"                                                                   \
    "smlatb %[s1], %[t], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[s0]\n\t"                                                          \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"                                                         \
    HIL_DWP_ROW3("8", HIL_DWP_E1) HIL_DWP_ROW3("16", HIL_DWP_E2)
#define HIL_DWP_TRIPLE2                                                                            \
    "ldr %[s2], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldr %[t], [%[pp]], #12\n\t"                                                                   \
    "ldr %[x], [%[pp], #-8]\n\t"                                                                   \
    "smlad %[s0], %[t], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s2]\n\t"                                                          \
    "ldr %[t], [%[pp], #-4]\n\t"                                                                   \
    "ldr %[x], [%[pp]]\n\t"                                                                        \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"                                                         \
    HIL_DWP_ROW3S2("8", HIL_DWP_E1) HIL_DWP_ROW3S2("16", HIL_DWP_E2)
#define HIL_DWP_SINGLE                                                                             \
    "ldr %[s0], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldr %[t], [%[pp]], #4\n\t"                                                                    \
    "ldr %[x], [%[pp]]\n\t"                                                                        \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    HIL_DWP_ROW1("8", HIL_DWP_E1) HIL_DWP_ROW1("16", HIL_DWP_E2)
/* A whole channel, every output row in one asm block (nothing spills between rows): per row nq
 * steps of 4 outputs (the count in rsn's upper bits; ASR reads the shift from its low byte), then
 * one step of the nr = out_w % 4 outputs left, then pp moves to the next row's start by dpp and o
 * by wt[8]; the rows end when pp reaches wt[7]. s2f: stride 2 along the rows. */
#define HIL_DWP_CHANNEL()                                                                          \
    __asm__ volatile(                                                                              \
        "0:\n\t"                                                                                   \
        ".if %c[nq]\n\t"                                                                           \
        "1:\n\t"                                                                                   \
        ".if %c[s2f]\n\t" HIL_DWP_QUAD2 ".else\n\t" HIL_DWP_QUAD1 ".endif\n\t"                     \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        HIL_DWP_RQ("s1") "strb %[t], [%[o], #%c[C]]\n\t"                                           \
        HIL_DWP_RQ("s2") "strb %[t], [%[o], #%c[C]*2]\n\t"                                         \
        HIL_DWP_RQ("s3") "strb %[t], [%[o], #%c[C]*3]\n\t"                                         \
        "add %[o], %[o], #%c[C]*4\n\t"                                                             \
        ".if %c[nq] > 1\n\t"                                                                       \
        "subs %[rsn], %[rsn], #256\n\t"                                                            \
        "bcs 1b\n\t"                                                                               \
        "add %[rsn], %[rsn], #%c[nq]*256\n\t"                                                      \
        ".endif\n\t"                                                                               \
        ".endif\n\t"                                                                               \
        ".if %c[nr] == 3\n\t"                                                                      \
        ".if %c[s2f]\n\t" HIL_DWP_TRIPLE2 ".else\n\t" HIL_DWP_TRIPLE1 ".endif\n\t"                 \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        HIL_DWP_RQ("s1") "strb %[t], [%[o], #%c[C]]\n\t"                                           \
        HIL_DWP_RQ("s2") "strb %[t], [%[o], #%c[C]*2]\n\t"                                         \
        "add %[o], %[o], #%c[C]*3\n\t"                                                             \
        ".endif\n\t"                                                                               \
        ".if %c[nr] == 2\n\t"                                                                      \
        ".if %c[s2f]\n\t" HIL_DWP_PAIR2 ".else\n\t" HIL_DWP_PAIR1 ".endif\n\t"                     \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        HIL_DWP_RQ("s1") "strb %[t], [%[o], #%c[C]]\n\t"                                           \
        "add %[o], %[o], #%c[C]*2\n\t"                                                             \
        ".endif\n\t"                                                                               \
        ".if %c[nr] == 1\n\t" HIL_DWP_SINGLE                                                       \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        "add %[o], %[o], #%c[C]\n\t"                                                               \
        ".endif\n\t"                                                                               \
        "add %[pp], %[pp], #%c[dpp]\n\t"                                                           \
        "ldrd %[t], %[x], [%[wp], #28]\n\t"                                                        \
        "add %[o], %[o], %[x]\n\t"                                                                 \
        "cmp %[pp], %[t]\n\t"                                                                      \
        "bne 0b"                                                                                   \
        : [pp] "+r"(pp), [o] "+r"(o), [rsn] "+r"(rsn), [s0] "=&r"(s0_), [s1] "=&r"(s1_), [s2] "=&r"(s2_), \
          [s3] "=&r"(s3_), [t] "=&r"(t_), [x] "=&r"(x_), [wa] "=&r"(wa_), [wb] "=&r"(wb_)          \
        : [wp] "r"(wt), [m] "r"(m), [k30] "r"(0x40000000), [k] "i"(1 + 2 * p->out_off),           \
          [amin] "i"(p->act_min), [amax] "i"(p->act_max), [lo] "i"(p->act_min > -128),             \
          [hi] "i"(p->act_max < 127), [e1] "i"(4 * npair), [C] "i"(OS), [nq] "i"(nq), [nr] "i"(nr), \
          [s2f] "i"(sw == 2), [dpp] "i"(dpp)                                         \
        : "cc", "memory")
/* 8 input values of one channel, IX bytes apart from S, to 4 int16-pair words at D; S and D move on */
#define HIL_DWP_WIDEN8(S, D, IX)                                                                   \
    do {                                                                                           \
        uint32_t a_, b_, c_;                                                                       \
        __asm__ volatile("ldrsb %[a], [%[s]]\n\t"                                                           \
                "ldrsb %[b], [%[s], %[x1]]\n\t"                                                    \
                "pkhbt %[a], %[a], %[b], lsl #16\n\t"                                              \
                "ldrsb %[b], [%[s], %[x2]]\n\t"                                                    \
                "ldrsb %[c], [%[s], %[x3]]\n\t"                                                    \
                "pkhbt %[b], %[b], %[c], lsl #16\n\t"                                              \
                "strd %[a], %[b], [%[d]], #8\n\t"                                                  \
                "ldrsb %[a], [%[s], %[x4]]\n\t"                                                    \
                "ldrsb %[b], [%[s], %[x5]]\n\t"                                                    \
                "pkhbt %[a], %[a], %[b], lsl #16\n\t"                                              \
                "ldrsb %[b], [%[s], %[x6]]\n\t"                                                    \
                "ldrsb %[c], [%[s], %[x7]]\n\t"                                                    \
                "pkhbt %[b], %[b], %[c], lsl #16\n\t"                                              \
                "strd %[a], %[b], [%[d]], #8\n\t"                                                  \
                "add %[s], %[s], %[x8]"                                                            \
                : [s] "+r"(S), [d] "+r"(D), [a] "=&r"(a_), [b] "=&r"(b_), [c] "=&r"(c_)             \
                : [x1] "i"(IX), [x2] "i"(2 * (IX)), [x3] "i"(3 * (IX)), [x4] "i"(4 * (IX)),         \
                  [x5] "i"(5 * (IX)), [x6] "i"(6 * (IX)), [x7] "i"(7 * (IX)), [x8] "i"(8 * (IX))    \
                : "memory");                                                                       \
    } while (0)
#endif

HIL_OPT_FN void hil_opt_dwp3_s8(const hil_opt_conv_t *params, const int8_t *in, const uint32_t *q, int32_t *scratch,
                                int8_t *out)
{
    const hil_opt_conv_t pcopy = *params; /* a local copy: int8_t stores cannot alias it */
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c;
    /* the plane's rows run along the longer output axis: transposed (tr) when out_h > out_w at
     * stride 1 (the generator transposes the 3x3 weights to match, optimized.py _dsp_dw3_tr) */
    const int tr = p->stride_h == 1 && p->stride_w == 1 && p->out_h > p->out_w;
    const int32_t sh = tr ? p->stride_w : p->stride_h, sw = tr ? p->stride_h : p->stride_w;
    const int32_t out_h = tr ? p->out_w : p->out_h, out_w = tr ? p->out_h : p->out_w;
    const int32_t in_h = tr ? p->in_w : p->in_h, in_w = tr ? p->in_h : p->in_w;
    const int32_t pad_h = tr ? p->pad_w : p->pad_h, pad_w = tr ? p->pad_h : p->pad_w;
    const int32_t ix = tr ? p->in_w * C : C, iy = tr ? C : p->in_w * C;    /* input steps along / across */
    const int32_t OS = tr ? p->out_w * C : C, oys = tr ? C : p->out_w * C; /* output steps */
    const int32_t pw = (out_w - 1) * sw + 3, npair = (pw + 2) / 2, ph = (out_h - 1) * sh + 3;
    const int32_t rowh = 2 * npair; /* int16 values a plane row */
    int16_t *plane = (int16_t *)(void *)scratch;
    /* the input's rows and columns inside the plane (a layer may leave its last ones unread) */
    const int32_t y0 = pad_h, y1 = pad_h + in_h < ph ? pad_h + in_h : ph;
    const int32_t xn = pad_w + in_w < rowh ? in_w : rowh - pad_w;
    const uint32_t zz = ((uint32_t)(uint16_t)(int16_t)p->in_zp) * 0x10001u;
    for (int32_t i = 0; i < ph * npair; ++i) {
        ((uint32_t *)(void *)scratch)[i] = zz; /* the border: the same for every channel */
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * C;
        int8_t *out_b = out + b * p->out_h * p->out_w * C;
        for (int32_t c = 0; c < C; ++c, q += 6) {
            for (int32_t y = y0; y < y1; ++y) { /* the channel's plane: two values a word store */
                const int8_t *s = in_b + (y - pad_h) * iy + c;
                int16_t *d = plane + y * rowh + pad_w;
                int32_t n = xn;
                if (pad_w & 1) { /* the first value shares its word with the zero-point border */
                    *d++ = *s;
                    s += ix;
                    --n;
                }
                uint32_t *dw = (uint32_t *)(void *)d;
#if defined(HIL_DWP_ASM)
                if (8 * ix <= 4095) { /* 8 values a step, 17 instructions (gcc's loop: 20) */
                    for (; n >= 8; n -= 8) {
                        HIL_DWP_WIDEN8(s, dw, ix);
                    }
                }
#endif
                HIL_OPT_UNROLL
                for (; n >= 2; n -= 2, s += 2 * ix) {
                    *dw++ = hil_dw_pack16(s[0], s[ix]);
                }
                if (n > 0) {
                    *(int16_t *)(void *)dw = *s;
                }
            }
            const int32_t bias = (int32_t)q[3], m = (int32_t)q[4], rs = (int32_t)q[5];
            HIL_OPT_BARRIER(); /* the plane's stores before its loads */
#if defined(HIL_DWP_ASM)
            {
                /* per row: steps of 4 outputs, then one of nr = 3, 2 or 1; pp has moved on by adv bytes */
                const int32_t nq = out_w / 4, nr = out_w % 4;
                const int32_t adv = sw == 2 ? 16 * nq + 4 * nr : 8 * nq + (nr == 3 ? 8 : nr > 0 ? 4 : 0);
                const int32_t dpp = 4 * sh * npair - adv;
                const uint32_t *pp = (const uint32_t *)(const void *)plane;
                int8_t *o = out_b + c;
                /* Wa, Wb of the 3 kernel rows, the bias, pp's end and o's step at a row's end (LDRD) */
                const uint32_t wt[9] = {hil_sxtb16(q[0]), hil_sxtb16_ror8(q[0]), hil_sxtb16(q[1]),
                                        hil_sxtb16_ror8(q[1]), hil_sxtb16(q[2]), hil_sxtb16_ror8(q[2]), q[3],
                                        (uint32_t)(uintptr_t)(plane + out_h * sh * rowh),
                                        (uint32_t)(oys - out_w * OS)};
                uint32_t s0_, s1_, s2_, s3_, t_, x_, wa_, wb_;
                int32_t rsn = rs + (nq > 1 ? (nq - 1) * 256 : 0);
                HIL_DWP_CHANNEL();
                (void)s1_;
                (void)s2_;
                (void)s3_;
                (void)bias;
            }
#else
            /* Wa, Wb of the 3 kernel rows and the bias */
            const uint32_t wt[7] = {hil_sxtb16(q[0]), hil_sxtb16_ror8(q[0]), hil_sxtb16(q[1]), hil_sxtb16_ror8(q[1]),
                                    hil_sxtb16(q[2]), hil_sxtb16_ror8(q[2]), q[3]};
            for (int32_t oy = 0; oy < out_h; ++oy) {
                const uint32_t *r0 = (const uint32_t *)(const void *)(plane + oy * sh * rowh);
                int8_t *o = out_b + oy * oys + c;
                int32_t ox = 0;
                const uint32_t *r1 = r0 + npair, *r2 = r0 + 2 * npair;
                uint32_t x0 = r0[0], x1 = r1[0], x2 = r2[0];
                for (; sw == 1 && ox + 2 <= out_w; ox += 2, o += 2 * OS) {
                    const int32_t j = ox / 2 + 1;
                    const uint32_t n0 = r0[j], n1 = r1[j], n2 = r2[j];
                    int32_t s0 = hil_smlad(x0, wt[0], bias), s1 = hil_dw_smlatb(x0, wt[0], bias);
                    s0 = hil_smlabb(n0, wt[1], s0);
                    s1 = hil_dw_smladx(n0, wt[1], s1);
                    s0 = hil_smlad(x1, wt[2], s0);
                    s1 = hil_dw_smlatb(x1, wt[2], s1);
                    s0 = hil_smlabb(n1, wt[3], s0);
                    s1 = hil_dw_smladx(n1, wt[3], s1);
                    s0 = hil_smlad(x2, wt[4], s0);
                    s1 = hil_dw_smlatb(x2, wt[4], s1);
                    s0 = hil_smlabb(n2, wt[5], s0);
                    s1 = hil_dw_smladx(n2, wt[5], s1);
                    o[0] = hil_opt_out(p, s0, 0, &m, &rs, (const int32_t *)0);
                    o[OS] = hil_opt_out(p, s1, 0, &m, &rs, (const int32_t *)0);
                    x0 = n0;
                    x1 = n1;
                    x2 = n2;
                }
                for (; ox < out_w; ++ox, o += OS) { /* stride 2, or stride 1's odd last output */
                    const int32_t j = sw == 1 ? ox / 2 : ox;
                    const uint32_t a0 = r0[j], a1 = r1[j], a2 = r2[j];
                    const uint32_t n0 = r0[j + 1], n1 = r1[j + 1], n2 = r2[j + 1];
                    int32_t s0 = hil_smlad(a0, wt[0], bias);
                    s0 = hil_smlabb(n0, wt[1], s0);
                    s0 = hil_smlad(a1, wt[2], s0);
                    s0 = hil_smlabb(n1, wt[3], s0);
                    s0 = hil_smlad(a2, wt[4], s0);
                    s0 = hil_smlabb(n2, wt[5], s0);
                    o[0] = hil_opt_out(p, s0, 0, &m, &rs, (const int32_t *)0);
                }
            }
#endif
            HIL_OPT_BARRIER(); /* this channel's outputs before the next plane's loads (in place) */
        }
    }
}

#endif /* HIL_OPT_DSP_DW_H */
