/* int8 max pool: maximum of the in-bounds window, then the fused-activation clamp. */
#include "pooling.h"
#include "hil_fixedpoint.h"

void hil_maxpool_s8(const hil_pool_params_t *p, const int8_t *in, int8_t *out)
{
    const int32_t ch = p->channels;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * ch;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = hil_max_i32(0, -y0);
            const int32_t fy1 = hil_min_i32(p->f_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = hil_max_i32(0, -x0);
                const int32_t fx1 = hil_min_i32(p->f_w, p->in_w - x0);
                for (int32_t c = 0; c < ch; ++c) {
                    int32_t m = -128;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            m = hil_max_i32(m, in_b[((y0 + fy) * p->in_w + (x0 + fx)) * ch + c]);
                        }
                    }
                    *out++ = (int8_t)hil_clamp_i32(m, p->act_min, p->act_max);
                }
            }
        }
    }
}
