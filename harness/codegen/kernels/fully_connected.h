/* FULLY_CONNECTED kernels: out[b][o] = act(sum_i x[b][i] * W[o][i] + bias[o]), W is [out, in]. */
#ifndef HIL_FULLY_CONNECTED_H
#define HIL_FULLY_CONNECTED_H

#include <stdint.h>

typedef struct {
    int32_t batches;
    int32_t in_depth;       /* accumulation depth */
    int32_t out_depth;
    int32_t input_offset;   /* -input zero point */
    int32_t filter_offset;  /* -filter zero point */
    int32_t output_offset;  /* output zero point */
    int32_t act_min, act_max;
    int32_t per_channel;    /* 1: mult/shift per output unit, 0: entry 0 */
} hil_fc_params_t;

typedef struct {
    int32_t batches, in_depth, out_depth;
    float act_min, act_max;
} hil_fc_f32_params_t;

/* int8: `bias` must be the effective bias, bias + input_offset * sum(w + filter_offset) per unit. */
void hil_fc_s8(const hil_fc_params_t *p, const int8_t *in, const int8_t *filter, const int32_t *bias,
               const int32_t *mult, const int32_t *shift, int8_t *out);
void hil_fc_s16(const hil_fc_params_t *p, const int16_t *in, const int8_t *filter, const int64_t *bias,
                const int32_t *mult, const int32_t *shift, int16_t *out);
void hil_fc_f32(const hil_fc_f32_params_t *p, const float *in, const float *filter, const float *bias,
                float *out);

#endif /* HIL_FULLY_CONNECTED_H */
