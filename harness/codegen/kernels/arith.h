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
/* no broadcast, n elements; tables: 512 words of scratch (arith_addsub_lut_s8.c) */
void hil_addsub_lut_s8(const hil_addsub_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n,
                       int32_t sub, int32_t *tables);
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

/* MAXIMUM (is_max = 1) / MINIMUM on raw values, as TFLM does (inputs share one quantization). */
void hil_maxmin_s8(int32_t is_max, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2, int8_t *out,
                   int32_t n);
void hil_maxmin_s16(int32_t is_max, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2, int16_t *out,
                    int32_t n);
void hil_maxmin_f32(int32_t is_max, const hil_bcast_t *b, const float *in1, const float *in2, float *out,
                    int32_t n);

/* PRELU: x >= 0 ? x * s_in/s_out : x * alpha * s_in*s_alpha/s_out (alpha broadcast as input 2). */
typedef struct {
    int32_t in_offset;    /* -zero_point */
    int32_t alpha_offset; /* -zero_point */
    int32_t out_offset;   /* +zero_point */
    int32_t mult_pos;
    int32_t shift_pos;
    int32_t mult_neg;
    int32_t shift_neg;
} hil_prelu_params_t;

void hil_prelu_s8(const hil_prelu_params_t *p, const hil_bcast_t *b, const int8_t *in, const int8_t *alpha,
                  int8_t *out, int32_t n);
void hil_prelu_s16(const hil_prelu_params_t *p, const hil_bcast_t *b, const int16_t *in, const int8_t *alpha,
                   int16_t *out, int32_t n);
void hil_prelu_f32(const hil_bcast_t *b, const float *in, const float *alpha, float *out, int32_t n);

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

/* ---- shared by arith_*.c (internal) ---- */
#include "hil_fixedpoint.h"

/* Visit every output element in order with the matching input element indices i1, i2. */
#define HIL_BCAST_LOOP(b, n, ...)                                                             \
    do {                                                                                      \
        if ((b) == NULL) {                                                                    \
            for (int32_t i = 0; i < (n); ++i) {                                               \
                const int32_t i1 = i, i2 = i;                                                 \
                __VA_ARGS__                                                                   \
            }                                                                                 \
        } else {                                                                              \
            int32_t idx_[HIL_MAX_DIMS] = {0};                                                 \
            int32_t i1 = 0, i2 = 0;                                                           \
            for (int32_t i = 0; i < (n); ++i) {                                               \
                __VA_ARGS__                                                                   \
                for (int32_t d = (b)->ndim - 1; d >= 0; --d) {                                \
                    i1 += (b)->stride1[d];                                                    \
                    i2 += (b)->stride2[d];                                                    \
                    if (++idx_[d] < (b)->dims[d]) {                                           \
                        break;                                                                \
                    }                                                                         \
                    i1 -= (b)->stride1[d] * (b)->dims[d];                                     \
                    i2 -= (b)->stride2[d] * (b)->dims[d];                                     \
                    idx_[d] = 0;                                                              \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    } while (0)

static inline int32_t hil_addsub_q_(const hil_addsub_params_t *p, int32_t a, int32_t b, int sub)
{
    const int32_t x1 = hil_mbqm((a + p->in1_offset) * ((int32_t)1 << p->left_shift), p->in1_mult, p->in1_shift);
    const int32_t x2 = hil_mbqm((b + p->in2_offset) * ((int32_t)1 << p->left_shift), p->in2_mult, p->in2_shift);
    const int32_t raw = sub ? x1 - x2 : x1 + x2;
    return hil_clamp_i32(hil_mbqm(raw, p->out_mult, p->out_shift) + p->out_offset, p->act_min, p->act_max);
}

static inline int32_t hil_mul_q_(const hil_mul_params_t *p, int32_t a, int32_t b)
{
    const int32_t prod = (a + p->in1_offset) * (b + p->in2_offset);
    return hil_clamp_i32(hil_mbqm(prod, p->out_mult, p->out_shift) + p->out_offset, p->act_min, p->act_max);
}

/* Advance a row-major odometer over dims; returns the change of the element offset. */
static inline int32_t hil_odometer_step_(int32_t *idx, int32_t ndim, const int32_t *dims, const int32_t *strides)
{
    int32_t delta = 0;
    for (int32_t d = ndim - 1; d >= 0; --d) {
        delta += strides[d];
        if (++idx[d] < dims[d]) {
            return delta;
        }
        delta -= strides[d] * dims[d];
        idx[d] = 0;
    }
    return delta;
}

#define HIL_MEAN_WALK(p, ACC_T, ACC_INIT, ACCUMULATE, ...)                                     \
    do {                                                                                      \
        int32_t oidx[HIL_MAX_DIMS] = {0};                                                     \
        int32_t obase = 0;                                                                    \
        for (int32_t o = 0; o < (p)->num_out; ++o) {                                          \
            int32_t iidx[HIL_MAX_DIMS] = {0};                                                 \
            int32_t off = obase;                                                              \
            ACC_T acc = ACC_INIT;                                                             \
            for (int32_t k = 0; k < (p)->count; ++k) {                                        \
                ACCUMULATE;                                                                   \
                off += hil_odometer_step_(iidx, (p)->n_inner, (p)->inner_dims, (p)->inner_strides); \
            }                                                                                 \
            __VA_ARGS__;                                                                      \
            obase += hil_odometer_step_(oidx, (p)->n_outer, (p)->outer_dims, (p)->outer_strides);  \
        }                                                                                     \
    } while (0)

#endif /* HIL_ARITH_H */
