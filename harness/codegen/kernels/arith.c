/* Elementwise arithmetic and MEAN; see arith.h. */
#include "arith.h"

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

static inline int32_t addsub_q(const hil_addsub_params_t *p, int32_t a, int32_t b, int sub)
{
    const int32_t x1 = hil_mbqm((a + p->in1_offset) * ((int32_t)1 << p->left_shift), p->in1_mult, p->in1_shift);
    const int32_t x2 = hil_mbqm((b + p->in2_offset) * ((int32_t)1 << p->left_shift), p->in2_mult, p->in2_shift);
    const int32_t raw = sub ? x1 - x2 : x1 + x2;
    return hil_clamp_i32(hil_mbqm(raw, p->out_mult, p->out_shift) + p->out_offset, p->act_min, p->act_max);
}

static inline int32_t mul_q(const hil_mul_params_t *p, int32_t a, int32_t b)
{
    const int32_t prod = (a + p->in1_offset) * (b + p->in2_offset);
    return hil_clamp_i32(hil_mbqm(prod, p->out_mult, p->out_shift) + p->out_offset, p->act_min, p->act_max);
}

void hil_add_s8(const hil_addsub_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int8_t)addsub_q(p, in1[i1], in2[i2], 0); });
}

void hil_add_s16(const hil_addsub_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int16_t)addsub_q(p, in1[i1], in2[i2], 0); });
}

void hil_sub_s8(const hil_addsub_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int8_t)addsub_q(p, in1[i1], in2[i2], 1); });
}

void hil_sub_s16(const hil_addsub_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int16_t)addsub_q(p, in1[i1], in2[i2], 1); });
}

void hil_mul_s8(const hil_mul_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int8_t)mul_q(p, in1[i1], in2[i2]); });
}

void hil_mul_s16(const hil_mul_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int16_t)mul_q(p, in1[i1], in2[i2]); });
}

void hil_binary_f32(int32_t op, const hil_bcast_t *b, const float *in1, const float *in2, float *out, int32_t n,
                    float lo, float hi)
{
    HIL_BCAST_LOOP(b, n, {
        const float x = in1[i1], y = in2[i2];
        const float v = op == 0 ? x + y : (op == 1 ? x - y : x * y);
        out[i] = v < lo ? lo : (v > hi ? hi : v);
    });
}

/* Advance a row-major odometer over dims; returns the change of the element offset. */
static int32_t odometer_step(int32_t *idx, int32_t ndim, const int32_t *dims, const int32_t *strides)
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
                off += odometer_step(iidx, (p)->n_inner, (p)->inner_dims, (p)->inner_strides); \
            }                                                                                 \
            __VA_ARGS__;                                                                      \
            obase += odometer_step(oidx, (p)->n_outer, (p)->outer_dims, (p)->outer_strides);  \
        }                                                                                     \
    } while (0)

void hil_mean_s8(const hil_mean_params_t *p, const int8_t *in, int8_t *out)
{
    HIL_MEAN_WALK(p, int32_t, 0, acc += in[off], {
        const int32_t v = hil_mbqm(acc - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
        out[o] = (int8_t)hil_clamp_i32(v, -128, 127);
    });
}

void hil_mean_s16(const hil_mean_params_t *p, const int16_t *in, int16_t *out)
{
    HIL_MEAN_WALK(p, int32_t, 0, acc += in[off], {
        const int32_t v = hil_mbqm(acc - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
        out[o] = (int16_t)hil_clamp_i32(v, -32768, 32767);
    });
}

void hil_mean_f32(const hil_mean_params_t *p, const float *in, float *out)
{
    HIL_MEAN_WALK(p, float, 0.0f, acc += in[off], { out[o] = acc / (float)p->count; });
}
