/* Elementwise arithmetic, f32; see arith.h. */
#include "arith.h"

void hil_binary_f32(int32_t op, const hil_bcast_t *b, const float *in1, const float *in2, float *out, int32_t n,
                    float lo, float hi)
{
    HIL_BCAST_LOOP(b, n, {
        const float x = in1[i1], y = in2[i2];
        const float v = op == 0 ? x + y : (op == 1 ? x - y : x * y);
        out[i] = v < lo ? lo : (v > hi ? hi : v);
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
