/* Elementwise arithmetic: ADD/SUB, int8; see arith.h. */
#include "arith.h"

void hil_add_s8(const hil_addsub_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int8_t)hil_addsub_q_(p, in1[i1], in2[i2], 0); });
}

void hil_sub_s8(const hil_addsub_params_t *p, const hil_bcast_t *b, const int8_t *in1, const int8_t *in2,
                int8_t *out, int32_t n)
{
    HIL_BCAST_LOOP(b, n, { out[i] = (int8_t)hil_addsub_q_(p, in1[i1], in2[i2], 1); });
}
