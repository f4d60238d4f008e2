/* SOFTMAX kernels over the innermost dimension. */
#ifndef HIL_SOFTMAX_H
#define HIL_SOFTMAX_H

#include <stdint.h>

typedef struct {
    int32_t rows;             /* product of the outer dimensions */
    int32_t depth;            /* innermost dimension */
    int32_t input_multiplier; /* beta * input scale, fixed point */
    int32_t input_shift;      /* int8: left shift (>= 0); int16: signed shift */
    int32_t diff_min;         /* int8: differences below this give exp() = 0 */
    const int16_t *exp_lut;             /* int16: 513-entry exp() table on [-10, 0] */
    const int16_t *one_over_one_plus_x; /* int16: 513-entry 1/(1+x) table on [0, 1] */
} hil_softmax_params_t;

typedef struct {
    int32_t rows, depth;
    float beta;
} hil_softmax_f32_params_t;

void hil_softmax_s8(const hil_softmax_params_t *p, const int8_t *in, int8_t *out);
void hil_softmax_s8_s16(const hil_softmax_params_t *p, const int8_t *in, int16_t *out);
void hil_softmax_s16(const hil_softmax_params_t *p, const int16_t *in, int16_t *out);
void hil_softmax_f32(const hil_softmax_f32_params_t *p, const float *in, float *out);

#endif /* HIL_SOFTMAX_H */
