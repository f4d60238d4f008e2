/* Elementwise arithmetic: ADD/SUB/MUL, float32; see arith.h. */
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
