/* AVERAGE_POOL_2D and MAX_POOL_2D kernels (NHWC, same quantization in and out). */
#ifndef HIL_POOLING_H
#define HIL_POOLING_H

#include <stdint.h>

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, channels;
    int32_t out_h, out_w;
    int32_t f_h, f_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t act_min, act_max;   /* quantized clamp */
    float act_min_f, act_max_f; /* float clamp */
} hil_pool_params_t;

void hil_avgpool_s8(const hil_pool_params_t *p, const int8_t *in, int8_t *out);
void hil_avgpool_s16(const hil_pool_params_t *p, const int16_t *in, int16_t *out);
void hil_avgpool_f32(const hil_pool_params_t *p, const float *in, float *out);
void hil_maxpool_s8(const hil_pool_params_t *p, const int8_t *in, int8_t *out);
void hil_maxpool_s16(const hil_pool_params_t *p, const int16_t *in, int16_t *out);
void hil_maxpool_f32(const hil_pool_params_t *p, const float *in, float *out);

#endif /* HIL_POOLING_H */
