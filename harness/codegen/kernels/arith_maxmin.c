/* Elementwise arithmetic: MAXIMUM/MINIMUM, all types; see arith.h. */
#include "arith.h"

void hil_maxmin_s8(int32_t is_max, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2, int8_t *out,
                   int32_t n)
{
    HIL_BCAST_LOOP(b, n, {
        const int8_t x = in1[i1];
        const int8_t y = in2[i2];
        out[i] = is_max ? (x > y ? x : y) : (x < y ? x : y);
    });
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

void hil_maxmin_f32(int32_t is_max, const hil_bcast_t *b, const float *in1, const float *in2, float *out,
                   int32_t n)
{
    HIL_BCAST_LOOP(b, n, {
        const float x = in1[i1];
        const float y = in2[i2];
        out[i] = is_max ? (x > y ? x : y) : (x < y ? x : y);
    });
}
