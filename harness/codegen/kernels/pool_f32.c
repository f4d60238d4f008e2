/* float32 average and max pooling. */
/* Keep a*b+c as two roundings (no fused multiply-add), as the TFLM reference build does, so
 * float outputs on FPU cores match the host runtime. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "pooling.h"
#include "hil_fixedpoint.h"

static float hil_pool_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

void hil_avgpool_f32(const hil_pool_params_t *p, const float *in, float *out)
{
    const int32_t ch = p->channels;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_b = in + b * p->in_h * p->in_w * ch;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = hil_max_i32(0, -y0);
            const int32_t fy1 = hil_min_i32(p->f_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = hil_max_i32(0, -x0);
                const int32_t fx1 = hil_min_i32(p->f_w, p->in_w - x0);
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                for (int32_t c = 0; c < ch; ++c) {
                    float acc = 0.0f;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            acc += in_b[((y0 + fy) * p->in_w + (x0 + fx)) * ch + c];
                        }
                    }
                    *out++ = hil_pool_clampf(acc / (float)count, p->act_min_f, p->act_max_f);
                }
            }
        }
    }
}

void hil_maxpool_f32(const hil_pool_params_t *p, const float *in, float *out)
{
    const int32_t ch = p->channels;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_b = in + b * p->in_h * p->in_w * ch;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = hil_max_i32(0, -y0);
            const int32_t fy1 = hil_min_i32(p->f_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = hil_max_i32(0, -x0);
                const int32_t fx1 = hil_min_i32(p->f_w, p->in_w - x0);
                for (int32_t c = 0; c < ch; ++c) {
                    float m = -3.402823466e+38f;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const float v = in_b[((y0 + fy) * p->in_w + (x0 + fx)) * ch + c];
                            m = v > m ? v : m;
                        }
                    }
                    *out++ = hil_pool_clampf(m, p->act_min_f, p->act_max_f);
                }
            }
        }
    }
}
