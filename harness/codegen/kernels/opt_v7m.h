/* Optimized int8 kernels for ARMv7-M without the DSP extension (Cortex-M3), chosen at generation
 * time (harness/codegen/optimized.py); shared parts in opt_common.h. No SMLAD / SXTB16 here, but
 * 32-bit MLA, SMLAL, SSAT, SXTB/SBFX (any byte of a word, one instruction) and LDRD.
 *
 * - Conv / FC (hil_opt_conv_v7m): two rows widened once to int32, interleaved (x0[k], x1[k]) so
 *   one LDRD reads both; the weights stay int8 in flash in the DSP cores' int8 layout (per channel
 *   pair, per 4 input values, one word per channel), each byte unpacked once and used for both
 *   rows: a 2x2 block is per 16 MACs 1 + 4 LDRD, 8 unpacks and 16 MLA (1.81 instructions/MAC).
 *   A single row (FC with batch 1, an odd last row) is widened contiguously: 2 LDRD of inputs per
 *   step instead of 4, 19 instructions per 8 MACs.
 * - Depthwise (hil_opt_dw_v7m, depth multiplier 1): every tap at a constant offset (LDRSB with
 *   immediate offsets: input, weight, MLA per MAC), from the input itself for interior pixels, from
 *   a zero-point-padded copy of the window (a patch) for border ones.
 * - Requantization: the 6-instruction SMLAL form (hil_opt_rq2_dsp uses only v7-M instructions).
 */
#ifndef HIL_OPT_V7M_H
#define HIL_OPT_V7M_H
#ifndef HIL_OPT_V7M
#define HIL_OPT_V7M 1 /* the family marker (tests and docs test it) */
#endif

#include "opt_common.h"

/* Byte j of w, sign-extended: SXTB / SBFX / ASR, one instruction each. */
#define HIL_V7M_B0(w) ((int32_t)(int8_t)(w))
#define HIL_V7M_B1(w) ((int32_t)(int8_t)((w) >> 8))
#define HIL_V7M_B2(w) ((int32_t)(int8_t)((w) >> 16))
#define HIL_V7M_B3(w) ((int32_t)(w) >> 24)

/* k int8 values -> int32 at dst[0], dst[step], dst[2 step], ..., zero padded to kp values. */
HIL_OPT_INL void hil_opt_widen_v7m(const int8_t *src, int32_t k, int32_t kp, int32_t step, int32_t *dst)
{
    int32_t i = 0;
    for (; i + 4 <= k; i += 4, dst += 4 * step) {
        const uint32_t w = hil_load32(src + i);
        dst[0] = HIL_V7M_B0(w);
        dst[step] = HIL_V7M_B1(w);
        dst[2 * step] = HIL_V7M_B2(w);
        dst[3 * step] = HIL_V7M_B3(w);
    }
    for (; i < kp; ++i, dst += step) {
        dst[0] = i < k ? src[i] : 0;
    }
}

/* The matrix product of the rows in `col` with all output channels. w: per channel pair kp / 2
 * words, per step of 4 input values (wa, wb) = channel a's and b's 4 int8 in input order (an odd
 * last channel is paired with zeros). two: col holds two interleaved rows (x0[k], x1[k]); else one
 * contiguous row. */
HIL_OPT_INL void hil_opt_mm_v7m(const hil_opt_conv_t *p, const int32_t *col, int32_t two, const uint32_t *w,
                                const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                                int8_t *o0, int8_t *o1, const int bytes)
{
    const int32_t kp = p->kp, n = p->out_c;
    for (int32_t c = 0; c < n; c += 2) {
        const int32_t *pa = col;
        const uint32_t *pw = w + c * (kp / 4);
        int32_t s00 = bias[c], s01 = bias[c + 1];
        int32_t s10 = s00, s11 = s01;
        if (!two) {
            _Pragma("GCC unroll 2")
            for (int32_t i = 0; i < kp; i += 4, pa += 4, pw += 2) {
                const uint32_t wa = pw[0], wb = pw[1];
                int32_t x0, x1, x2, x3;
                if (bytes) { /* the int8 row itself (k % 4 == 0) */
                    const uint32_t xw = hil_load32((const int8_t *)(const void *)col + i);
                    x0 = HIL_V7M_B0(xw), x1 = HIL_V7M_B1(xw), x2 = HIL_V7M_B2(xw), x3 = HIL_V7M_B3(xw);
                } else {
                    x0 = pa[0], x1 = pa[1], x2 = pa[2], x3 = pa[3];
                }
                s00 += x0 * HIL_V7M_B0(wa);
                s01 += x0 * HIL_V7M_B0(wb);
                s00 += x1 * HIL_V7M_B1(wa);
                s01 += x1 * HIL_V7M_B1(wb);
                s00 += x2 * HIL_V7M_B2(wa);
                s01 += x2 * HIL_V7M_B2(wb);
                s00 += x3 * HIL_V7M_B3(wa);
                s01 += x3 * HIL_V7M_B3(wb);
            }
        } else {
            _Pragma("GCC unroll 2")
            for (int32_t i = 0; i < kp; i += 4, pa += 8, pw += 2) {
                const uint32_t wa = pw[0], wb = pw[1];
#define HIL_V7M_STEP(J, B)                                                                         \
    do {                                                                                           \
        const int32_t x0_ = pa[2 * (J)], x1_ = pa[2 * (J) + 1];                                    \
        const int32_t a_ = B(wa), b_ = B(wb);                                                      \
        s00 += x0_ * a_;                                                                           \
        s10 += x1_ * a_;                                                                           \
        s01 += x0_ * b_;                                                                           \
        s11 += x1_ * b_;                                                                           \
    } while (0)
                HIL_V7M_STEP(0, HIL_V7M_B0);
                HIL_V7M_STEP(1, HIL_V7M_B1);
                HIL_V7M_STEP(2, HIL_V7M_B2);
                HIL_V7M_STEP(3, HIL_V7M_B3);
#undef HIL_V7M_STEP
            }
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

/* Conv / FC as a matrix product, two rows at a time. w: the int8 layout above; bias/mult/rsh
 * padded to an even channel count. scratch (optimized.py, _v7m_scratch): kp / 4 (im2col bytes,
 * not for direct rows) + 2 * kp words, kp for a single row, none for one direct row with k % 4
 * == 0 (read as int8 words, unpacked per channel pair). Both rows are widened before any output
 * of the pair is stored (a direct 1x1 may run in place). */
HIL_OPT_FN void hil_opt_conv_v7m(const hil_opt_conv_t *params, const int8_t *in, const int8_t *w, const int32_t *bias,
                                 const int32_t *mult, const int32_t *rsh, const int32_t *lsh, int32_t *scratch,
                                 int8_t *out)
{
    const hil_opt_conv_t pcopy = *params; /* a local copy: int8_t stores cannot alias it */
    const hil_opt_conv_t *p = &pcopy;
    if (p->rows == 1 && p->direct && p->k == p->kp) { /* FC with batch 1: no copy, no scratch */
        hil_opt_mm_v7m(p, (const int32_t *)(const void *)in, 0, (const uint32_t *)(const void *)w, bias, mult, rsh, lsh,
                       out, out, 1);
        return;
    }
    int8_t *tmp = (int8_t *)scratch;
    int32_t *col = scratch + (p->direct ? 0 : p->kp / 4);
    for (int32_t r = 0; r < p->rows; r += 2) {
        const int32_t two = r + 1 < p->rows;
        const int32_t step = two ? 2 : 1;
        for (int32_t j = 0; j <= two; ++j) {
            const int8_t *row = in + (r + j) * p->k;
            if (!p->direct) {
                hil_opt_im2col(p, in, r + j, tmp);
                row = tmp;
            }
            hil_opt_widen_v7m(row, p->k, p->kp, step, col + j);
        }
        hil_opt_mm_v7m(p, col, two, (const uint32_t *)(const void *)w, bias, mult, rsh, lsh, out + r * p->out_c,
                       out + (r + 1) * p->out_c, 0);
    }
}

/* One output pixel of the depthwise: tap t of channel c at src[(t / k_w) * ys + (t % k_w) * xs + c]
 * (constant offsets once inlined: LDRSB, LDRSB, MLA per MAC). */
HIL_OPT_INL void hil_v7m_dw_pixel(const hil_opt_conv_t *p, const int8_t *src, int32_t ys, int32_t xs, const int8_t *w8,
                                  const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                                  int8_t *out)
{
    const int32_t C = p->in_c, kw = p->k_w, taps = p->k_h * p->k_w;
    for (int32_t c = 0; c < C; ++c) {
        int32_t acc = bias[c];
        HIL_OPT_UNROLL_K
        for (int32_t t = 0; t < taps; ++t) {
            acc += (int32_t)src[(t / kw) * ys + (t - (t / kw) * kw) * xs + c] * (int32_t)w8[t * C + c];
        }
        out[c] = hil_opt_out(p, acc, c, mult, rsh, lsh);
    }
}

/* Depthwise, depth multiplier 1, any window up to HIL_OPT_MAX_TAPS, the 1HWC filter as is.
 * Interior pixels read every tap where it is; a border pixel first copies its window into a patch
 * in the scratch (taps x in_c bytes, taps in the padding set to the input zero point, folded into
 * bias_eff), so both run the same constant-offset loop, no bounds checks per MAC. */
HIL_OPT_FN void hil_opt_dw_v7m(const hil_opt_conv_t *params, const int8_t *in, const int8_t *w8, const int16_t *w16,
                               const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                               int32_t *scratch, int8_t *out)
{
    const hil_opt_conv_t pcopy = *params;
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c, kh = p->k_h, kw = p->k_w, taps = kh * kw;
    int8_t *patch = (int8_t *)(void *)scratch;
    (void)w16;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += C) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                if (y0 >= 0 && y0 + (kh - 1) * p->dil_h < p->in_h && x0 >= 0 && x0 + (kw - 1) * p->dil_w < p->in_w) {
                    hil_v7m_dw_pixel(p, in_b + (y0 * p->in_w + x0) * C, p->dil_h * p->in_w * C, p->dil_w * C, w8,
                                     bias, mult, rsh, lsh, out);
                    continue;
                }
                for (int32_t t = 0; t < taps; ++t) {
                    const int32_t y = y0 + (t / kw) * p->dil_h, x = x0 + (t % kw) * p->dil_w;
                    if (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) {
                        memcpy(patch + t * C, in_b + (y * p->in_w + x) * C, (size_t)C);
                    } else {
                        memset(patch + t * C, p->in_zp, (size_t)C);
                    }
                }
                hil_v7m_dw_pixel(p, patch, kw * C, C, w8, bias, mult, rsh, lsh, out);
            }
        }
    }
}

#endif /* HIL_OPT_V7M_H */
