/* int16x8 fully connected: 64-bit accumulator and bias, reduced 16-bit multiplier. */
#include "fully_connected.h"
#include "hil_fixedpoint.h"

void hil_fc_s16(const hil_fc_params_t *p, const int16_t *in, const int8_t *filter, const int64_t *bias,
                const int32_t *mult, const int32_t *shift, int16_t *out)
{
    const int32_t depth = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *x = in + b * depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const int8_t *w = filter + o * depth;
            int64_t acc = 0;
            for (int32_t i = 0; i < depth; ++i) {
                acc += (int64_t)((int32_t)x[i] * ((int32_t)w[i] + p->filter_offset));
            }
            if (bias) {
                acc += bias[o];
            }
            const int32_t q = p->per_channel ? o : 0;
            const int32_t r = hil_mbqm64(acc, mult[q], shift[q]) + p->output_offset;
            *out++ = (int16_t)hil_clamp_i32(r, p->act_min, p->act_max);
        }
    }
}
