/* int16 average pool: mean of the in-bounds window, rounded half away from zero (TFLM's integer rule). */
#include "pooling.h"
#include "hil_fixedpoint.h"

void hil_avgpool_s16(const hil_pool_params_t *p, const int16_t *in, int16_t *out)
{
    const int32_t ch = p->channels;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in_b = in + b * p->in_h * p->in_w * ch;
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
                    int32_t acc = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            acc += in_b[((y0 + fy) * p->in_w + (x0 + fx)) * ch + c];
                        }
                    }
                    if (count > 0) {
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *out++ = (int16_t)hil_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
