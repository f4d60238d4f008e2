/* int16x8 depthwise convolution (64-bit accumulators, reduced multiplier), channel-blocked like
 * the int8 kernel; int16 zero point is 0, so padding taps are simply skipped. */
#include "conv.h"
#include "hil_fixedpoint.h"

#define HIL_DW16_BLOCK 32

void hil_dwconv_s16(const hil_conv_params_t *p, const int16_t *in, const int8_t *filter,
                    const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *out)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t out_h = p->out_h, out_w = p->out_w, k_h = p->k_h, k_w = p->k_w;
    const int32_t stride_h = p->stride_h, stride_w = p->stride_w, dil_h = p->dil_h, dil_w = p->dil_w;
    const int32_t pad_h = p->pad_h, pad_w = p->pad_w, dm = p->depth_multiplier, out_off = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max, per_channel = p->per_channel;
    int64_t acc[HIL_DW16_BLOCK];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in_b = in + b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky0, ky1;
            hil_taps_inside(y0, k_h, dil_h, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx0, kx1;
                hil_taps_inside(x0, k_w, dil_w, in_w, &kx0, &kx1);
                for (int32_t oc0 = 0; oc0 < out_c; oc0 += HIL_DW16_BLOCK) {
                    const int32_t n = hil_min_i32(HIL_DW16_BLOCK, out_c - oc0);
                    for (int32_t j = 0; j < n; ++j) {
                        acc[j] = 0;
                    }
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int16_t *px = in_b + ((y0 + ky * dil_h) * in_w + x0 + kx * dil_w) * in_c;
                            const int8_t *pw = filter + (ky * k_w + kx) * out_c + oc0;
                            int32_t ic = oc0 / dm, m = oc0 - ic * dm;
                            for (int32_t j = 0; j < n; ++j) {
                                acc[j] += (int32_t)px[ic] * (int32_t)pw[j];
                                if (++m == dm) {
                                    m = 0;
                                    ++ic;
                                }
                            }
                        }
                    }
                    for (int32_t j = 0; j < n; ++j) {
                        const int64_t total = bias ? acc[j] + bias[oc0 + j] : acc[j];
                        const int32_t q = per_channel ? oc0 + j : 0;
                        const int32_t r = hil_mbqm64(total, mult[q], shift[q]) + out_off;
                        *out++ = (int16_t)hil_clamp_i32(r, act_min, act_max);
                    }
                }
            }
        }
    }
}
