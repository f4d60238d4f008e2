/* Optimized int8 depthwise kernels for the cores with the DSP extension (Cortex-M4/M7/M33/M55),
 * chosen at generation time (harness/codegen/optimized.py); shared parts in opt_common.h.
 *
 * - hil_opt_dwr_s8 / hil_opt_dwr8_s8: zero-point-padded input rows in a mirrored ring, 4 channels
 *   per word, SMLABB/SMLATT; natively in place.
 * - hil_opt_dw_dsp / hil_opt_dw_dsp8: any window, interior pixels at constant offsets, the border
 *   through the tap table.
 * The 3x3 kernel over channel planes (hil_opt_dwp3_s8): opt_dsp_dwp.h.
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

#endif /* HIL_OPT_DSP_DW_H */
