/* Elementwise arithmetic: MUL, int8; see arith.h. */
#include "arith.h"

void hil_mul_s8(const hil_mul_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int8_t)hil_mul_q_(p, in1[i1], in2[i2]); });
}
