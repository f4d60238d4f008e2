/* float32 fully connected (sum in input order, then bias, then clamp). */
/* Keep a*b+c as two roundings (no fused multiply-add), as the TFLM reference build does, so
 * float outputs on FPU cores match the host runtime. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "fully_connected.h"

void hil_fc_f32(const hil_fc_f32_params_t *p, const float *in, const float *filter, const float *bias,
                float *out)
{
    const int32_t depth = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *x = in + b * depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const float *w = filter + o * depth;
            float acc = 0.0f;
            for (int32_t i = 0; i < depth; ++i) {
                acc += x[i] * w[i];
            }
            if (bias) {
                acc += bias[o];
            }
            *out++ = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
        }
    }
}
