/* Elementwise arithmetic: ADD/SUB, int16; see arith.h. */
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
