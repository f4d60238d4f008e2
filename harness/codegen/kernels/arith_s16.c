/* Elementwise arithmetic, s16; see arith.h. */
#include "arith.h"

void hil_add_s16(const hil_addsub_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int16_t)hil_addsub_q_(p, in1[i1], in2[i2], 0); });
}

void hil_sub_s16(const hil_addsub_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int16_t)hil_addsub_q_(p, in1[i1], in2[i2], 1); });
}

void hil_mul_s16(const hil_mul_params_t *p, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2,
                 int16_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int16_t)hil_mul_q_(p, in1[i1], in2[i2]); });
}

void hil_maxmin_s16(int32_t is_max, const hil_bcast_t *b, const int16_t *in1, const int16_t *in2, int16_t *out,
                   int32_t n)
{
    HIL_BCAST_LOOP(b, n, {
        const int16_t x = in1[i1];
        const int16_t y = in2[i2];
        out[i] = is_max ? (x > y ? x : y) : (x < y ? x : y);
    });
}
