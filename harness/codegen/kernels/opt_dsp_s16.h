/* Optimized int16x8 kernels (int16 activations, int8 weights) for the cores with the DSP extension
 * (Cortex-M4/M7/M33), chosen at generation time (harness/codegen/optimized_s16.py). Bit-exact with
 * TFLM's int16x8 reference kernels:
 *
 * - TFLM accumulates in 64 bits. The generator bounds every channel's accumulator, |bias| +
 *   32768 * sum|w|, and uses these kernels only when it is < 2^31: then every partial sum of the
 *   exact integer sum fits in 32 bits in any order, so SMLAD's 32-bit accumulator gives the same
 *   value (larger layers keep the portable 64-bit kernels).
 * - Requantization: TFLM's (acc * reduced + 2^(ts-1)) >> ts (ts = 15 - shift, the 16-bit reduced
 *   multiplier) is ((acc * reduced >> (ts - 1)) + 1) >> 1 (nested floors), and acc * reduced >> s
 *   is the high word of acc * m with m = reduced << (32 - s) for s <= 32 (m < 2^31 when s >= 16,
 *   which the generator checks), then >> e with e = s - 32 beyond: per channel (m, e), and
 *   out = ((hi(acc * m) >> e) + 1) >> 1 (SMULL, ASR, ADD, SSAT with ASR #1 for the full range).
 * - Conv / FC (hil_s16_conv_dsp): the activations are already 16-bit, so a word of the (im2col)
 *   row is an SMLAD operand as it is (1x1 / FC rows with k % 4 == 0 are read in place, others
 *   copied once per row pair); the second row is read at a constant offset from the first.
 *   Weights stay int8 in flash: per channel pair, per 4 input values, one word per channel with
 *   its bytes ordered (w0, w2, w1, w3), so SXTB16 gives (w0, w1) and SXTB16 ROR 8 (w2, w3), the
 *   order of the activation pairs. A 2x2 block: 3 LDRD + 4 SXTB16 + 8 SMLAD per 16 MACs.
 * - Depthwise (hil_s16_dw_dsp, depth multiplier 1, channels % 4 == 0): per tap and 4 channels an
 *   LDRD of the inputs, one word of the 4 weights (bytes ordered c0, c2, c1, c3), 2 SXTB16, SMLABB /
 *   SMLATT x 2. Interior pixels read the taps at constant offsets; border pixels through a tap
 *   table whose padding taps point at a row of zeros (the int16 zero point is 0).
 */
#ifndef HIL_OPT_DSP_S16_H
#define HIL_OPT_DSP_S16_H

#include "opt_dsp.h" /* opt_common.h, HIL_LDRD_PI */

/* The requantized, clamped int16 output of an accumulator (see above). */
HIL_OPT_INL int16_t hil_s16_out(const hil_opt_conv_t *p, int32_t acc, int32_t m, int32_t e)
{
    const int32_t hi = (int32_t)((uint64_t)((int64_t)acc * m) >> 32);
    const int32_t t = (hi >> e) + 1;
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    if (p->act_min == -32768 && p->act_max == 32767) {
        return (int16_t)__ssat(t >> 1, 16);
    }
#endif
    int32_t v = t >> 1;
    v = v < p->act_min ? p->act_min : v;
    v = v > p->act_max ? p->act_max : v;
    return (int16_t)v;
}

/* Row r of the int16 im2col matrix into dst (k values); padding taps are 0 (zero point 0). */
HIL_OPT_INL void hil_s16_im2col(const hil_opt_conv_t *p, const int16_t *in, int32_t r, int16_t *dst)
{
    const int32_t ox = r % p->out_w, t = r / p->out_w, oy = t % p->out_h, b = t / p->out_h;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    const int16_t *in_b = in + b * p->in_h * p->in_w * p->in_c;
    const size_t bytes = (size_t)p->in_c * sizeof(int16_t);
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t y = y0 + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx, dst += p->in_c) {
            const int32_t x = x0 + kx * p->dil_w;
            if (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) {
                memcpy(dst, in_b + (y * p->in_w + x) * p->in_c, bytes);
            } else {
                memset(dst, 0, bytes);
            }
        }
    }
}

/* The rows at col (two: a second one kp / 2 words further) times every output channel. w: per
 * channel pair kp / 2 words (see the header comment). */
HIL_OPT_INL void hil_s16_mm_dsp(const hil_opt_conv_t *p, const uint32_t *col, int32_t two, const uint32_t *w,
                                const int32_t *bias, const int32_t *mult, const int32_t *rsh, int16_t *o0,
                                int16_t *o1)
{
    const int32_t kp = p->kp, n = p->out_c;
    for (int32_t c = 0; c < n; c += 2) {
        const uint32_t *pa = col, *pw = w + c * (kp / 4);
        int32_t s00 = bias[c], s01 = bias[c + 1];
        int32_t s10 = s00, s11 = s01;
        /* unrolled 2 / 4 times, not per depth as the int8 kernels: fewer instructions (no spills)
         * and ~0.5 KB less flash per layer */
        if (!two) {
            _Pragma("GCC unroll 2")
            for (int32_t i = 0; i < kp; i += 4) {
                uint32_t x0, x1, wa, wb;
                HIL_LDRD_PI(x0, x1, pa);
                HIL_LDRD_PI(wa, wb, pw);
                s00 = hil_smlad(x0, hil_sxtb16(wa), s00);
                s00 = hil_smlad(x1, hil_sxtb16_ror8(wa), s00);
                s01 = hil_smlad(x0, hil_sxtb16(wb), s01);
                s01 = hil_smlad(x1, hil_sxtb16_ror8(wb), s01);
            }
        } else {
            _Pragma("GCC unroll 4")
            for (int32_t i = 0; i < kp; i += 4) {
                uint32_t x0, x1, wa, wb;
                const uint64_t z = hil_load64(pa + kp / 2); /* the second row: a constant offset */
                const uint32_t z0 = (uint32_t)z, z1 = (uint32_t)(z >> 32);
                HIL_LDRD_PI(x0, x1, pa);
                HIL_LDRD_PI(wa, wb, pw);
                uint32_t y = hil_sxtb16(wa);
                s00 = hil_smlad(x0, y, s00);
                s10 = hil_smlad(z0, y, s10);
                y = hil_sxtb16_ror8(wa);
                s00 = hil_smlad(x1, y, s00);
                s10 = hil_smlad(z1, y, s10);
                y = hil_sxtb16(wb);
                s01 = hil_smlad(x0, y, s01);
                s11 = hil_smlad(z0, y, s11);
                y = hil_sxtb16_ror8(wb);
                s01 = hil_smlad(x1, y, s01);
                s11 = hil_smlad(z1, y, s11);
            }
        }
        o0[c] = hil_s16_out(p, s00, mult[c], rsh[c]);
        if (two) {
            o1[c] = hil_s16_out(p, s10, mult[c], rsh[c]);
        }
        if (c + 1 < n) {
            o0[c + 1] = hil_s16_out(p, s01, mult[c + 1], rsh[c + 1]);
            if (two) {
                o1[c + 1] = hil_s16_out(p, s11, mult[c + 1], rsh[c + 1]);
            }
        }
    }
}

/* int16x8 conv / FC as a matrix product, two rows at a time. bias (int32), mult, rsh (the e
 * above): per channel, padded to an even count. direct == 2 (k % 4 == 0, not in place): the rows
 * are read where they are (4-byte aligned: the planner's offsets); else each row of the pair is
 * copied (im2col, zero padded to kp) into the scratch (kp words) before any output of the pair is
 * stored, so a direct 1x1 may run in place. */
HIL_OPT_FN void hil_s16_conv_dsp(const hil_opt_conv_t *params, const int16_t *in, const int8_t *w, const int32_t *bias,
                                 const int32_t *mult, const int32_t *rsh, int32_t *scratch, int16_t *out)
{
    const hil_opt_conv_t pcopy = *params; /* a local copy: int16_t stores cannot alias it */
    const hil_opt_conv_t *p = &pcopy;
    for (int32_t r = 0; r < p->rows; r += 2) {
        const int32_t two = r + 1 < p->rows;
        const uint32_t *col = (const uint32_t *)(const void *)(in + r * p->k);
        if (p->direct != 2) {
            for (int32_t j = 0; j <= two; ++j) {
                int16_t *dst = (int16_t *)(void *)scratch + j * p->kp;
                if (p->direct) {
                    memcpy(dst, in + (r + j) * p->k, (size_t)p->k * sizeof(int16_t));
                } else {
                    hil_s16_im2col(p, in, r + j, dst);
                }
                for (int32_t i = p->k; i < p->kp; ++i) {
                    dst[i] = 0;
                }
            }
            col = (const uint32_t *)scratch;
        }
        hil_s16_mm_dsp(p, col, two, (const uint32_t *)(const void *)w, bias, mult, rsh, out + r * p->out_c,
                       out + (r + 1) * p->out_c);
    }
}

/* 4 channels of one tap: x = the inputs' two words, w = the weights' word (c0, c2, c1, c3). */
#define HIL_S16_DW_TAP(x01, x23, w)                                                                \
    do {                                                                                           \
        const uint32_t w01_ = hil_sxtb16(w), w23_ = hil_sxtb16_ror8(w);                           \
        a0 = hil_smlabb(x01, w01_, a0);                                                            \
        a1 = hil_smlatt(x01, w01_, a1);                                                            \
        a2 = hil_smlabb(x23, w23_, a2);                                                            \
        a3 = hil_smlatt(x23, w23_, a3);                                                            \
    } while (0)

/* int16x8 depthwise, depth multiplier 1, in_c % 4 == 0 (the generator checks). w: per tap, per 4
 * channels, one word of int8 (c0, c2, c1, c3). scratch: the tap table (k_h * k_w pointers) + a
 * row of in_c zeros. */
HIL_OPT_FN void hil_s16_dw_dsp(const hil_opt_conv_t *params, const int16_t *in, const int8_t *w, const int32_t *bias,
                               const int32_t *mult, const int32_t *rsh, int32_t *scratch, int16_t *out)
{
    const hil_opt_conv_t pcopy = *params;
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c, kh = p->k_h, kw = p->k_w, taps = kh * kw;
    const uint32_t *wq = (const uint32_t *)(const void *)w;
    const int16_t **tp = (const int16_t **)(void *)scratch;
    int16_t *zrow = (int16_t *)(void *)(tp + taps);
    memset(zrow, 0, (size_t)C * sizeof(int16_t));
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in_b = in + b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += C) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t interior = y0 >= 0 && y0 + (kh - 1) * p->dil_h < p->in_h && x0 >= 0 &&
                                         x0 + (kw - 1) * p->dil_w < p->in_w;
                const int16_t *base = in_b + (y0 * p->in_w + x0) * C;
                if (!interior) {
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int32_t y = y0 + ky * p->dil_h;
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const int32_t x = x0 + kx * p->dil_w;
                            tp[ky * kw + kx] =
                                (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) ? in_b + (y * p->in_w + x) * C : zrow;
                        }
                    }
                }
                for (int32_t g = 0; g < C; g += 4) {
                    int32_t a0 = bias[g], a1 = bias[g + 1], a2 = bias[g + 2], a3 = bias[g + 3];
                    const uint32_t *wg = wq + g / 4;
                    if (interior) { /* every tap at a constant offset from one base once inlined */
                        _Pragma("GCC unroll 16")
                        for (int32_t t = 0; t < taps; ++t) {
                            const int32_t ky = t / kw, kx = t - (t / kw) * kw;
                            const uint64_t x = hil_load64((const uint32_t *)(const void *)(
                                base + (ky * p->dil_h * p->in_w + kx * p->dil_w) * C + g));
                            HIL_S16_DW_TAP((uint32_t)x, (uint32_t)(x >> 32), wg[t * (C / 4)]);
                            HIL_OPT_BARRIER(); /* one tap's loads at a time: hoisted together, they spill */
                        }
                    } else {
                        HIL_OPT_UNROLL
                        for (int32_t t = 0; t < taps; ++t) {
                            const uint64_t x = hil_load64((const uint32_t *)(const void *)(tp[t] + g));
                            HIL_S16_DW_TAP((uint32_t)x, (uint32_t)(x >> 32), wg[t * (C / 4)]);
                        }
                    }
                    HIL_OPT_BARRIER(); /* keep the requantization loads here: hoisted, they spill */
                    out[g] = hil_s16_out(p, a0, mult[g], rsh[g]);
                    out[g + 1] = hil_s16_out(p, a1, mult[g + 1], rsh[g + 1]);
                    out[g + 2] = hil_s16_out(p, a2, mult[g + 2], rsh[g + 2]);
                    out[g + 3] = hil_s16_out(p, a3, mult[g + 3], rsh[g + 3]);
                }
            }
        }
    }
}

#endif /* HIL_OPT_DSP_S16_H */
