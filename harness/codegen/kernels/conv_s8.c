/* int8 convolution: acc = sum((x - zp_in) * w) + bias, requantized per output channel.
 * Windows fully inside the input use acc = bias_eff + sum(x * w) over contiguous filter rows
 * (the same integer, fewer instructions); border windows visit only the taps inside the input. */
#include "conv.h"
#include "hil_fixedpoint.h"

void hil_conv_s8(const hil_conv_params_t *p, const int8_t *in, const int8_t *filter,
                 const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                 int8_t *out)
{
    /* locals: stores through int8_t pointers could alias *p and force reloads */
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t out_h = p->out_h, out_w = p->out_w, k_h = p->k_h, k_w = p->k_w;
    const int32_t stride_h = p->stride_h, stride_w = p->stride_w, dil_h = p->dil_h, dil_w = p->dil_w;
    const int32_t pad_h = p->pad_h, pad_w = p->pad_w;
    const int32_t in_off = p->input_offset, out_off = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max, per_channel = p->per_channel;
    const int32_t row = k_w * in_c; /* one filter row, contiguous in the input when dil_w == 1 */
    const int32_t w_size = k_h * row;
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
                const int8_t *w = filter;
                for (int32_t oc = 0; oc < out_c; ++oc, w += w_size) {
                    int32_t acc;
                    if (inside) {
                        acc = bias_eff[oc];
                        for (int32_t ky = 0; ky < k_h; ++ky) {
                            const int8_t *px = in_b + ((y0 + ky * dil_h) * in_w + x0) * in_c;
                            if (dil_w == 1) {
                                acc += hil_dot_s8(px, w + ky * row, row);
                            } else {
                                for (int32_t kx = 0; kx < k_w; ++kx) {
                                    acc += hil_dot_s8(px + kx * dil_w * in_c, w + ky * row + kx * in_c, in_c);
                                }
                            }
                        }
                    } else {
                        acc = bias ? bias[oc] : 0;
                        for (int32_t ky = ky0; ky < ky1; ++ky) {
                            for (int32_t kx = kx0; kx < kx1; ++kx) {
                                const int8_t *px = in_b + ((y0 + ky * dil_h) * in_w + x0 + kx * dil_w) * in_c;
                                const int8_t *pw = w + ky * row + kx * in_c;
                                for (int32_t ic = 0; ic < in_c; ++ic) {
                                    acc += ((int32_t)px[ic] + in_off) * (int32_t)pw[ic];
                                }
                            }
                        }
                    }
                    const int32_t q = per_channel ? oc : 0;
                    acc = hil_mbqm(acc, mult[q], shift[q]) + out_off;
                    *out++ = (int8_t)hil_clamp_i32(acc, act_min, act_max);
                }
            }
        }
    }
}
