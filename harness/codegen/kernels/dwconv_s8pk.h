/* int8 depthwise convolution with packed 4- or 2-bit weight codes (see packed_w4w2.h), shared by
 * dwconv_s8w4.c and dwconv_s8w2.c.
 * Output channel oc = ic * depth_multiplier + m, filter 1HWC. Channels go in blocks with one
 * code-sum accumulator each; per tap the block's codes are unpacked once into a small buffer.
 * Inside windows: acc = bias_eff + step * sum(x * code); border windows start from bias and
 * add the input offset per tap. */
#ifndef HIL_DWCONV_S8PK_H
#define HIL_DWCONV_S8PK_H

#include "packed_w4w2.h"

#define HIL_DW_PK_BLOCK 32

/* `bits` is a constant at both call sites, so each caller gets its own specialised copy. */
static inline __attribute__((always_inline)) void hil_dwconv_s8pk(
    int bits, const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
    const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *out)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t out_h = p->out_h, out_w = p->out_w, k_h = p->k_h, k_w = p->k_w;
    const int32_t stride_h = p->stride_h, stride_w = p->stride_w, dil_h = p->dil_h, dil_w = p->dil_w;
    const int32_t pad_h = p->pad_h, pad_w = p->pad_w, dm = p->depth_multiplier;
    const int32_t in_off = p->input_offset, out_off = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    const int32_t per_channel = p->per_channel, per_channel_step = p->per_channel_step;
    int32_t acc[HIL_DW_PK_BLOCK];
    int8_t cb[HIL_DW_PK_BLOCK];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky0, ky1;
            hil_taps_inside(y0, k_h, dil_h, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx0, kx1;
                hil_taps_inside(x0, k_w, dil_w, in_w, &kx0, &kx1);
                const int inside = ky0 == 0 && ky1 == k_h && kx0 == 0 && kx1 == k_w;
                const int32_t off = inside ? 0 : in_off;
                for (int32_t oc0 = 0; oc0 < out_c; oc0 += HIL_DW_PK_BLOCK) {
                    const int32_t n = hil_min_i32(HIL_DW_PK_BLOCK, out_c - oc0);
                    for (int32_t j = 0; j < n; ++j) {
                        acc[j] = 0;
                    }
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int8_t *px = in_b + ((y0 + ky * dil_h) * in_w + x0 + kx * dil_w) * in_c;
                            if (bits == 2) {
                                hil_unpack_w2(codes, (ky * k_w + kx) * out_c + oc0, n, cb);
                            } else {
                                hil_unpack_w4(codes, (ky * k_w + kx) * out_c + oc0, n, cb);
                            }
                            if (dm == 1) {
                                px += oc0;
                                for (int32_t j = 0; j < n; ++j) {
                                    acc[j] += ((int32_t)px[j] + off) * (int32_t)cb[j];
                                }
                            } else {
                                int32_t ic = oc0 / dm, m = oc0 - ic * dm;
                                for (int32_t j = 0; j < n; ++j) {
                                    acc[j] += ((int32_t)px[ic] + off) * (int32_t)cb[j];
                                    if (++m == dm) {
                                        m = 0;
                                        ++ic;
                                    }
                                }
                            }
                        }
                    }
                    for (int32_t j = 0; j < n; ++j) {
                        const int32_t oc = oc0 + j;
                        const int32_t base = inside ? bias_eff[oc] : (bias ? bias[oc] : 0);
                        const int32_t s = step[per_channel_step ? oc : 0];
                        const int32_t a = (int32_t)((uint32_t)base + (uint32_t)s * (uint32_t)acc[j]);
                        const int32_t q = per_channel ? oc : 0;
                        const int32_t v = hil_mbqm(a, mult[q], shift[q]) + out_off;
                        *out++ = (int8_t)hil_clamp_i32(v, act_min, act_max);
                    }
                }
            }
        }
    }
}

#endif /* HIL_DWCONV_S8PK_H */
