/* int8 convolution: acc = sum((x - zp_in) * w) + bias, requantized per output channel.
 * Interior windows use acc = bias_eff + sum(x * w) over contiguous filter rows (same integer,
 * fewer instructions); border windows skip the taps that fall in the padding. */
#include "conv.h"
#include "hil_fixedpoint.h"

void hil_conv_s8(const hil_conv_params_t *p, const int8_t *in, const int8_t *filter,
                 const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                 int8_t *out)
{
    const int32_t in_c = p->in_c;
    const int32_t row = p->k_w * in_c;           /* one filter row, contiguous when dil_w == 1 */
    const int32_t span_h = (p->k_h - 1) * p->dil_h;
    const int32_t span_w = (p->k_w - 1) * p->dil_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int inside_y = y0 >= 0 && y0 + span_h < p->in_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int inside = inside_y && x0 >= 0 && x0 + span_w < p->in_w;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int8_t *w = filter + oc * p->k_h * row;
                    int32_t acc;
                    if (inside) {
                        acc = bias_eff[oc];
                        for (int32_t ky = 0; ky < p->k_h; ++ky) {
                            const int8_t *px = in_b + ((y0 + ky * p->dil_h) * p->in_w + x0) * in_c;
                            if (p->dil_w == 1) {
                                acc += hil_dot_s8(px, w + ky * row, row);
                            } else {
                                for (int32_t kx = 0; kx < p->k_w; ++kx) {
                                    acc += hil_dot_s8(px + kx * p->dil_w * in_c, w + ky * row + kx * in_c, in_c);
                                }
                            }
                        }
                    } else {
                        /* border: only the taps inside the input, each with the offset */
                        acc = bias ? bias[oc] : 0;
                        for (int32_t ky = 0; ky < p->k_h; ++ky) {
                            const int32_t y = y0 + ky * p->dil_h;
                            if (y < 0 || y >= p->in_h) {
                                continue;
                            }
                            int32_t kx0 = 0;
                            int32_t kx1 = p->k_w;
                            while (kx0 < kx1 && x0 + kx0 * p->dil_w < 0) {
                                ++kx0;
                            }
                            while (kx1 > kx0 && x0 + (kx1 - 1) * p->dil_w >= p->in_w) {
                                --kx1;
                            }
                            for (int32_t kx = kx0; kx < kx1; ++kx) {
                                const int8_t *px = in_b + (y * p->in_w + x0 + kx * p->dil_w) * in_c;
                                const int8_t *pw = w + ky * row + kx * in_c;
                                for (int32_t ic = 0; ic < in_c; ++ic) {
                                    acc += ((int32_t)px[ic] + p->input_offset) * (int32_t)pw[ic];
                                }
                            }
                        }
                    }
                    const int32_t q = p->per_channel ? oc : 0;
                    acc = hil_mbqm(acc, mult[q], shift[q]) + p->output_offset;
                    *out++ = (int8_t)hil_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
