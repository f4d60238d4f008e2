/* Elementwise arithmetic (ADD, SUB, MUL with broadcasting and fused activations) and MEAN.
 *
 * Quantized arithmetic follows TFLM's reference kernels: ADD/SUB rescale both inputs onto a
 * common scale after a left shift (20 bits for int8, 15 for int16), add, and requantize; MUL
 * requantizes the product of the offset inputs; MEAN folds 1/count into the multiplier.
 * Written for this project from the published semantics of the TFLM reference kernels.
 */
#ifndef HIL_ARITH_H
#define HIL_ARITH_H

#include <stddef.h>
#include <math.h>
#include <stdint.h>

#define HIL_MAX_DIMS 6

/* Broadcast walk over the output in row-major order: stride1/stride2 are each input's element
 * strides per output dimension (0 where that input is broadcast). NULL = same shapes. */
typedef struct {
    int32_t ndim;
    int32_t dims[HIL_MAX_DIMS];
    int32_t stride1[HIL_MAX_DIMS];
    int32_t stride2[HIL_MAX_DIMS];
} hil_bcast_t;

typedef struct {
    int32_t in1_offset; /* -zero_point */
    int32_t in2_offset;
    int32_t out_offset; /* +zero_point */
    int32_t left_shift; /* 20 (int8) or 15 (int16) */
    int32_t in1_mult;
    int32_t in1_shift;
    int32_t in2_mult;
    int32_t in2_shift;
    int32_t out_mult;
    int32_t out_shift;
    int32_t act_min;
    int32_t act_max;
} hil_addsub_params_t;

typedef struct {
    int32_t in1_offset; /* -zero_point */
    int32_t in2_offset;
    int32_t out_offset; /* +zero_point */
    int32_t out_mult;
    int32_t out_shift;
    int32_t act_min;
    int32_t act_max;
} hil_mul_params_t;

void hil_add_s8(const hil_addsub_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n);
void hil_add_s16(const hil_addsub_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n);
void hil_sub_s8(const hil_addsub_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n);
void hil_sub_s16(const hil_addsub_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n);
void hil_mul_s8(const hil_mul_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n);
void hil_mul_s16(const hil_mul_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n);

/* op: 0 add, 1 sub, 2 mul; result clamped to [lo, hi] (fused activation). */
void hil_binary_f32(int32_t op, const hil_bcast_t *b, const float *in1, const float *in2, float *out, int32_t n,
                    float lo, float hi);

/* MEAN: outer dims are the kept ones (output order), inner dims the reduced ones; strides are
 * input element strides. count = elements reduced into each output. */
typedef struct {
    int32_t n_outer;
    int32_t outer_dims[HIL_MAX_DIMS];
    int32_t outer_strides[HIL_MAX_DIMS];
    int32_t n_inner;
    int32_t inner_dims[HIL_MAX_DIMS];
    int32_t inner_strides[HIL_MAX_DIMS];
    int32_t num_out;
    int32_t count;
    int32_t in_zp;
    int32_t out_zp;
    int32_t mult;  /* already includes 1/count, as TFLM folds it */
    int32_t shift;
} hil_mean_params_t;

void hil_mean_s8(const hil_mean_params_t *p, const int8_t *in, int8_t *out);
void hil_mean_s16(const hil_mean_params_t *p, const int16_t *in, int16_t *out);
void hil_mean_f32(const hil_mean_params_t *p, const float *in, float *out);

#endif /* HIL_ARITH_H */
