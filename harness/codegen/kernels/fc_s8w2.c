/* int8 fully connected with 2-bit packed weight codes (see packed_w4w2.h):
 * acc = bias_eff[o] + step[o] * sum(x * code[o]), then TFLM's double-rounding requantization. */
#include "packed_w4w2.h"

void hil_fc_s8w2(const hil_fc_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                 const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *out)
{
    const int32_t depth = p->in_depth, units = p->out_depth;
    const int32_t out_off = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    const int32_t per_channel = p->per_channel, per_channel_step = p->per_channel_step;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = in + b * depth;
        for (int32_t o = 0; o < units; ++o) {
            const int32_t sum = hil_dot_s8w2(x, codes, o * depth, depth);
            const int32_t s = step[per_channel_step ? o : 0];
            const int32_t acc = (int32_t)((uint32_t)bias_eff[o] + (uint32_t)s * (uint32_t)sum);
            const int32_t q = per_channel ? o : 0;
            const int32_t v = hil_mbqm(acc, mult[q], shift[q]) + out_off;
            *out++ = (int8_t)hil_clamp_i32(v, act_min, act_max);
        }
    }
}
