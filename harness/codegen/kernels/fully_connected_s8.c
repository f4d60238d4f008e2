/* int8 fully connected with TFLM's double-rounding requantization.
 * `bias` here is the generator's effective bias: bias + input_offset * sum(w + filter_offset),
 * so the inner loop is a plain dot product (the same integer as TFLM's sum). */
#include "fully_connected.h"
#include "hil_fixedpoint.h"

void hil_fc_s8(const hil_fc_params_t *p, const int8_t *in, const int8_t *filter, const int32_t *bias,
               const int32_t *mult, const int32_t *shift, int8_t *out)
{
    const int32_t depth = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = in + b * depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const int8_t *w = filter + o * depth;
            int32_t acc = bias[o];
            if (p->filter_offset == 0) {
                acc += hil_dot_s8(x, w, depth);
            } else {
                for (int32_t i = 0; i < depth; ++i) {
                    acc += (int32_t)x[i] * ((int32_t)w[i] + p->filter_offset);
                }
            }
            const int32_t q = p->per_channel ? o : 0;
            acc = hil_mbqm(acc, mult[q], shift[q]) + p->output_offset;
            *out++ = (int8_t)hil_clamp_i32(acc, p->act_min, p->act_max);
        }
    }
}
