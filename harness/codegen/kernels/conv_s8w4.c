/* int8 convolution with 4-bit packed weight codes (see packed_w4w2.h for the arithmetic).
 *
 * Output channels are the outer loop: each channel's codes are unpacked once into `scratch`
 * (k_h * k_w * in_c bytes of the model's shared scratch buffer), then every output pixel runs
 * the int8 dot product on them, so the packed filter costs one unpack per channel.
 * Windows fully inside the input: acc = bias_eff + step * sum(x * code) over contiguous filter
 * rows; border windows: acc = bias + step * sum((x + in_off) * code) over the taps inside. */
#include "packed_w4w2.h"

void hil_conv_s8w4(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                   const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                   int8_t *scratch, int8_t *out)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t out_h = p->out_h, out_w = p->out_w, k_h = p->k_h, k_w = p->k_w;
    const int32_t stride_h = p->stride_h, stride_w = p->stride_w, dil_h = p->dil_h, dil_w = p->dil_w;
    const int32_t pad_h = p->pad_h, pad_w = p->pad_w;
    const int32_t in_off = p->input_offset, out_off = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    const int32_t row = k_w * in_c;
    const int32_t w_size = k_h * row;
    /* output columns [ox_lo, ox_hi) and rows [oy_lo, oy_hi) whose windows lie inside the input */
    int32_t ox_lo = 0, ox_hi = out_w, oy_lo = 0, oy_hi = out_h;
    while (ox_lo < out_w && ox_lo * stride_w - pad_w < 0) {
        ++ox_lo;
    }
    while (ox_hi > ox_lo && (ox_hi - 1) * stride_w - pad_w + (k_w - 1) * dil_w >= in_w) {
        --ox_hi;
    }
    while (oy_lo < out_h && oy_lo * stride_h - pad_h < 0) {
        ++oy_lo;
    }
    while (oy_hi > oy_lo && (oy_hi - 1) * stride_h - pad_h + (k_h - 1) * dil_h >= in_h) {
        --oy_hi;
    }
    for (int32_t oc = 0; oc < out_c; ++oc) {
        hil_unpack_w4(codes, oc * w_size, w_size, scratch);
        const int32_t s = step[p->per_channel_step ? oc : 0];
        const int32_t q = p->per_channel ? oc : 0;
        const int32_t m = mult[q], sh = shift[q], b_in = bias_eff[oc], b_border = bias ? bias[oc] : 0;
        int8_t *o = out + oc;
        for (int32_t b = 0; b < p->batches; ++b) {
            const int8_t *in_b = in + b * in_h * in_w * in_c;
            for (int32_t oy = 0; oy < out_h; ++oy) {
                const int32_t y0 = oy * stride_h - pad_h;
                const int row_inside = oy >= oy_lo && oy < oy_hi;
                for (int32_t ox = 0; ox < out_w; ++ox, o += out_c) {
                    const int32_t x0 = ox * stride_w - pad_w;
                    int32_t sum = 0, base;
                    if (row_inside && ox >= ox_lo && ox < ox_hi) {
                        base = b_in;
                        const int8_t *px = in_b + (y0 * in_w + x0) * in_c;
                        for (int32_t ky = 0; ky < k_h; ++ky, px += dil_h * in_w * in_c) {
                            if (dil_w == 1) {
                                sum += hil_dot_s8(px, scratch + ky * row, row);
                            } else {
                                for (int32_t kx = 0; kx < k_w; ++kx) {
                                    sum += hil_dot_s8(px + kx * dil_w * in_c, scratch + ky * row + kx * in_c, in_c);
                                }
                            }
                        }
                    } else {
                        base = b_border;
                        for (int32_t ky = 0; ky < k_h; ++ky) {
                            const int32_t iy = y0 + ky * dil_h;
                            if (iy < 0 || iy >= in_h) {
                                continue;
                            }
                            for (int32_t kx = 0; kx < k_w; ++kx) {
                                const int32_t ix = x0 + kx * dil_w;
                                if (ix < 0 || ix >= in_w) {
                                    continue;
                                }
                                const int8_t *px = in_b + (iy * in_w + ix) * in_c;
                                const int8_t *pw = scratch + ky * row + kx * in_c;
                                for (int32_t ic = 0; ic < in_c; ++ic) {
                                    sum += ((int32_t)px[ic] + in_off) * (int32_t)pw[ic];
                                }
                            }
                        }
                    }
                    const int32_t acc = (int32_t)((uint32_t)base + (uint32_t)s * (uint32_t)sum);
                    const int32_t v = hil_mbqm(acc, m, sh) + out_off;
                    *o = (int8_t)hil_clamp_i32(v, act_min, act_max);
                }
            }
        }
    }
}
