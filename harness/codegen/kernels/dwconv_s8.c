/* int8 depthwise convolution: output channel oc = ic * depth_multiplier + m, filter 1HWC.
 * Interior windows use bias_eff (= bias + input_offset * sum of the channel's taps). */
#include "conv.h"
#include "hil_fixedpoint.h"

void hil_dwconv_s8(const hil_conv_params_t *p, const int8_t *in, const int8_t *filter,
                   const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                   int8_t *out)
{
    const int32_t in_c = p->in_c;
    const int32_t out_c = p->out_c;
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
                int32_t ic = 0;
                int32_t m = 0;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    int32_t acc;
                    if (inside) {
                        acc = bias_eff[oc];
                        for (int32_t ky = 0; ky < p->k_h; ++ky) {
                            const int8_t *px = in_b + ((y0 + ky * p->dil_h) * p->in_w + x0) * in_c + ic;
                            const int8_t *pw = filter + ky * p->k_w * out_c + oc;
                            for (int32_t kx = 0; kx < p->k_w; ++kx) {
                                acc += (int32_t)px[kx * p->dil_w * in_c] * (int32_t)pw[kx * out_c];
                            }
                        }
                    } else {
                        acc = bias ? bias[oc] : 0;
                        for (int32_t ky = 0; ky < p->k_h; ++ky) {
                            const int32_t y = y0 + ky * p->dil_h;
                            if (y < 0 || y >= p->in_h) {
                                continue;
                            }
                            for (int32_t kx = 0; kx < p->k_w; ++kx) {
                                const int32_t x = x0 + kx * p->dil_w;
                                if (x < 0 || x >= p->in_w) {
                                    continue;
                                }
                                acc += ((int32_t)in_b[(y * p->in_w + x) * in_c + ic] + p->input_offset) *
                                       (int32_t)filter[(ky * p->k_w + kx) * out_c + oc];
                            }
                        }
                    }
                    const int32_t q = p->per_channel ? oc : 0;
                    acc = hil_mbqm(acc, mult[q], shift[q]) + p->output_offset;
                    *out++ = (int8_t)hil_clamp_i32(acc, p->act_min, p->act_max);
                    if (++m == p->depth_multiplier) { /* ic = oc / depth_multiplier, no divide */
                        m = 0;
                        ++ic;
                    }
                }
            }
        }
    }
}
