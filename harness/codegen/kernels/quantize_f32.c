/* float -> int quantization: q = clamp(round(x / scale) + zero_point), division in float,
 * ties away from zero; and int -> float: (float)(double(scale) * (q - zero_point)). */
/* Keep a*b+c as two roundings (no fused multiply-add), as the TFLM reference build does, so
 * float outputs on FPU cores match the host runtime. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <math.h>

#include "quantize.h"
#include "hil_fixedpoint.h"

static int32_t hil_quantize_one(const hil_quant_params_t *p, float x, int32_t lo, int32_t hi)
{
    const float r = roundf(x / p->scale);
    /* saturate before the int conversion (out-of-range float -> int is undefined in C) */
    const int64_t q = r >= 2147483520.0f ? (int64_t)HIL_INT32_MAX
                      : (r <= -2147483648.0f ? (int64_t)HIL_INT32_MIN : (int64_t)(int32_t)r);
    const int64_t v = q + p->output_zero_point;
    return v < lo ? lo : (v > hi ? hi : (int32_t)v);
}

void hil_quantize_f32_s8(const hil_quant_params_t *p, const float *in, int8_t *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (int8_t)hil_quantize_one(p, in[i], -128, 127);
    }
}

void hil_quantize_f32_s16(const hil_quant_params_t *p, const float *in, int16_t *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (int16_t)hil_quantize_one(p, in[i], -32768, 32767);
    }
}

void hil_dequantize_s8_f32(const hil_quant_params_t *p, const int8_t *in, float *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (float)(p->dscale * (double)((int32_t)in[i] - p->input_zero_point));
    }
}

void hil_dequantize_s16_f32(const hil_quant_params_t *p, const int16_t *in, float *out)
{
    for (int32_t i = 0; i < p->size; ++i) {
        out[i] = (float)(p->dscale * (double)((int32_t)in[i] - p->input_zero_point));
    }
}
