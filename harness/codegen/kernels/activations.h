/* Activation kernels (LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH) for generated models.
 *
 * int8 ops are table lookups: the generator evaluates TFLM's integer arithmetic for all 256
 * inputs at generation time, so the device does one load per element. int16 ops compute in
 * place with TFLM's reference arithmetic (a 64K-entry table would not fit in flash).
 * Written for this project from the published semantics of the TFLM reference kernels.
 */
#ifndef HIL_ACTIVATIONS_H
#define HIL_ACTIVATIONS_H

#include <math.h>
#include <stdint.h>

/* out[i] = lut[in[i] + 128] */
void hil_lut_s8(const int8_t *in, int8_t *out, int32_t n, const int8_t *lut);

/* Clamp without requantization (RELU6 as TFLM runs it: bounds in the input's quantization). */
void hil_clamp_s8(const int8_t *in, int8_t *out, int32_t n, int32_t lo, int32_t hi);
void hil_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t lo, int32_t hi);
void hil_clamp_f32(const float *in, float *out, int32_t n, float lo, float hi);

/* int16 RELU: out = clamp(mbqm(in, mult, shift), lo, hi) (zero points are 0 for int16). */
void hil_requant_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift,
                           int32_t lo, int32_t hi);

typedef struct {
    int32_t in_zp;
    int32_t out_zp;
    int32_t mult_identity; /* x >= 0 */
    int32_t shift_identity;
    int32_t mult_alpha;    /* x < 0; may be negative (negative alpha) */
    int32_t shift_alpha;
} hil_leaky_relu_params_t;

void hil_leaky_relu_s16(const hil_leaky_relu_params_t *p, const int16_t *in, int16_t *out, int32_t n);
void hil_leaky_relu_f32(const float *in, float *out, int32_t n, float alpha);

/* int16 LOGISTIC / TANH: input rescaled by mult / 2^shift onto the table's grid, then a
 * 256-entry sigmoid(i/24) table with linear interpolation (TFLM's int16 method). */
void hil_logistic_s16(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift);
void hil_tanh_s16(const int16_t *in, int16_t *out, int32_t n, int32_t mult, int32_t shift);

void hil_logistic_f32(const float *in, float *out, int32_t n);
void hil_tanh_f32(const float *in, float *out, int32_t n);
void hil_hard_swish_f32(const float *in, float *out, int32_t n);

#endif /* HIL_ACTIVATIONS_H */
