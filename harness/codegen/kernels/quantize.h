/* QUANTIZE (float -> int, int -> int requantize) and DEQUANTIZE (int -> float) kernels. */
#ifndef HIL_QUANTIZE_H
#define HIL_QUANTIZE_H

#include <stdint.h>

typedef struct {
    int32_t size;
    float scale;          /* float -> int: output scale */
    double dscale;        /* int -> float: input scale */
    int32_t multiplier;   /* int -> int: in_scale / out_scale */
    int32_t shift;
    int32_t input_zero_point;
    int32_t output_zero_point;
} hil_quant_params_t;

void hil_quantize_f32_s8(const hil_quant_params_t *p, const float *in, int8_t *out);
void hil_quantize_f32_s16(const hil_quant_params_t *p, const float *in, int16_t *out);
void hil_requantize_s8_s8(const hil_quant_params_t *p, const int8_t *in, int8_t *out);
void hil_requantize_s8_s16(const hil_quant_params_t *p, const int8_t *in, int16_t *out);
void hil_requantize_s16_s8(const hil_quant_params_t *p, const int16_t *in, int8_t *out);
void hil_requantize_s16_s16(const hil_quant_params_t *p, const int16_t *in, int16_t *out);
void hil_dequantize_s8_f32(const hil_quant_params_t *p, const int8_t *in, float *out);
void hil_dequantize_s16_f32(const hil_quant_params_t *p, const int16_t *in, float *out);

#endif /* HIL_QUANTIZE_H */
