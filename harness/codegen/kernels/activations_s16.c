/* Activation kernels, int16 (clamp, RELU, LEAKY_RELU); see activations.h. */
#include "activations.h"

#include "hil_fixedpoint.h"

void hil_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = (int16_t)hil_clamp_i32(in[i], lo, hi);
    }
}

void hil_requant_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift,
                           int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = (int16_t)hil_clamp_i32(hil_mbqm(in[i], mult, shift), lo, hi);
    }
}

void hil_leaky_relu_s16(const hil_leaky_relu_params_t *p, const int16_t *in, int16_t *out, int32_t n)
{
    const int negative_alpha = p->mult_alpha < 0;
    const int32_t alpha = negative_alpha ? -p->mult_alpha : p->mult_alpha;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t x = (int32_t)in[i] - p->in_zp;
        int32_t v = p->out_zp;
        if (x >= 0) {
            v += hil_mbqm(x, p->mult_identity, p->shift_identity);
        } else {
            const int32_t s = hil_mbqm(x, alpha, p->shift_alpha);
            v += negative_alpha ? -s : s;
        }
        out[i] = (int16_t)hil_clamp_i32(v, -32768, 32767);
    }
}
