/* PRELU for int8, int16 (int8 alpha) and float32; see arith.h. */
#include "arith.h"

static inline int32_t prelu_q(const hil_prelu_params_t *p, int32_t x, int32_t a)
{
    const int32_t v = x + p->in_offset;
    const int32_t r = v >= 0 ? hil_mbqm(v, p->mult_pos, p->shift_pos)
                             : hil_mbqm(v * (a + p->alpha_offset), p->mult_neg, p->shift_neg);
    return r + p->out_offset;
}

void hil_prelu_s8(const hil_prelu_params_t *p, const hil_bcast_t *b, const int8_t *in, const int8_t *alpha,
                  int8_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int8_t)hil_clamp_i32(prelu_q(p, in[i1], alpha[i2]), -128, 127); });
}

void hil_prelu_s16(const hil_prelu_params_t *p, const hil_bcast_t *b, const int16_t *in, const int8_t *alpha,
                   int16_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int16_t)hil_clamp_i32(prelu_q(p, in[i1], alpha[i2]), -32768, 32767); });
}

void hil_prelu_f32(const hil_bcast_t *b, const float *in, const float *alpha, float *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, {
        const float x = in[i1];
        out[i] = x >= 0.0f ? x : x * alpha[i2];
    });
}
