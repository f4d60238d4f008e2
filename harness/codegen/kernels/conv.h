/* CONV_2D and DEPTHWISE_CONV_2D kernels (NHWC activations, OHWI / 1HWC filters). */
#ifndef HIL_CONV_H
#define HIL_CONV_H

#include <stdint.h>

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;      /* input tensor */
    int32_t out_h, out_w, out_c;   /* output tensor */
    int32_t k_h, k_w;              /* filter window */
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_h, pad_w;          /* top / left padding */
    int32_t depth_multiplier;      /* depthwise only */
    int32_t input_offset;          /* -input zero point */
    int32_t output_offset;         /* output zero point */
    int32_t act_min, act_max;      /* quantized clamp (fused activation and type range) */
    int32_t per_channel;           /* 1: mult/shift indexed by output channel, 0: entry 0 */
} hil_conv_params_t;

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_h, pad_w;
    int32_t depth_multiplier;
    float act_min, act_max;
} hil_conv_f32_params_t;

/* int8: `bias_eff[oc]` = bias[oc] + input_offset * sum(filter[oc]) (precomputed by the generator)
 * lets windows that lie fully inside the input skip the per-MAC offset addition; windows that
 * touch the padding use `bias` and add the offset per tap (padding contributes nothing). */
void hil_conv_s8(const hil_conv_params_t *p, const int8_t *in, const int8_t *filter,
                 const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                 int8_t *out);
void hil_conv_s16(const hil_conv_params_t *p, const int16_t *in, const int8_t *filter,
                  const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *out);
void hil_dwconv_s8(const hil_conv_params_t *p, const int8_t *in, const int8_t *filter,
                   const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                   int8_t *out);
void hil_dwconv_s16(const hil_conv_params_t *p, const int16_t *in, const int8_t *filter,
                    const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *out);
void hil_conv_f32(const hil_conv_f32_params_t *p, const float *in, const float *filter,
                  const float *bias, float *out);
void hil_dwconv_f32(const hil_conv_f32_params_t *p, const float *in, const float *filter,
                    const float *bias, float *out);

#endif /* HIL_CONV_H */
