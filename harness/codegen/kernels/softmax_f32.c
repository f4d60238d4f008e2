/* float32 softmax: exp((x - max) * beta) / sum. */
/* Keep a*b+c as two roundings (no fused multiply-add), as the TFLM reference build does, so
 * float outputs on FPU cores match the host runtime. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <math.h>

#include "softmax.h"

void hil_softmax_f32(const hil_softmax_f32_params_t *p, const float *in, float *out)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const float *x = in + r * p->depth;
        float *y = out + r * p->depth;
        float max_v = -3.402823466e+38f;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_v = x[c] > max_v ? x[c] : max_v;
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < p->depth; ++c) {
            y[c] = expf((x[c] - max_v) * p->beta);
            sum += y[c];
        }
        for (int32_t c = 0; c < p->depth; ++c) {
            y[c] = y[c] / sum;
        }
    }
}
