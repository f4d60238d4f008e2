/* MEAN for int8, int16 and float32; see arith.h. */
#include "arith.h"

void hil_mean_s8(const hil_mean_params_t *p, const int8_t *in, int8_t *out)
{
    HIL_MEAN_WALK(p, int32_t, 0, acc += in[off], {
        const int32_t v = hil_mbqm(acc - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
        out[o] = (int8_t)hil_clamp_i32(v, -128, 127);
    });
}

void hil_mean_s16(const hil_mean_params_t *p, const int16_t *in, int16_t *out)
{
    HIL_MEAN_WALK(p, int32_t, 0, acc += in[off], {
        const int32_t v = hil_mbqm(acc - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
        out[o] = (int16_t)hil_clamp_i32(v, -32768, 32767);
    });
}

void hil_mean_f32(const hil_mean_params_t *p, const float *in, float *out)
{
    HIL_MEAN_WALK(p, float, 0.0f, acc += in[off], { out[o] = acc / (float)p->count; });
}
