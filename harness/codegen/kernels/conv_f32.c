/* float32 convolution and depthwise convolution (sum in filter order, then bias, then clamp). */
/* Keep a*b+c as two roundings (no fused multiply-add), as the TFLM reference build does, so
 * float outputs on FPU cores match the host runtime. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "conv.h"

static float hil_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

void hil_conv_f32(const hil_conv_f32_params_t *p, const float *in, const float *filter,
                  const float *bias, float *out)
{
    const int32_t in_c = p->in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_b = in + b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const float *w = filter + oc * p->k_h * p->k_w * in_c;
                    float acc = 0.0f;
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
                            const float *px = in_b + (y * p->in_w + x) * in_c;
                            const float *pw = w + (ky * p->k_w + kx) * in_c;
                            for (int32_t ic = 0; ic < in_c; ++ic) {
                                acc += px[ic] * pw[ic];
                            }
                        }
                    }
                    *out++ = hil_clampf(acc + (bias ? bias[oc] : 0.0f), p->act_min, p->act_max);
                }
            }
        }
    }
}

void hil_dwconv_f32(const hil_conv_f32_params_t *p, const float *in, const float *filter,
                    const float *bias, float *out)
{
    const int32_t in_c = p->in_c;
    const int32_t out_c = p->out_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_b = in + b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t ic = oc / p->depth_multiplier;
                    float acc = 0.0f;
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
                            acc += in_b[(y * p->in_w + x) * in_c + ic] * filter[(ky * p->k_w + kx) * out_c + oc];
                        }
                    }
                    *out++ = hil_clampf(acc + (bias ? bias[oc] : 0.0f), p->act_min, p->act_max);
                }
            }
        }
    }
}
