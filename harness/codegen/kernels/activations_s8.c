/* Activation kernels, int8 (table lookup and clamp); see activations.h. */
#include "activations.h"

#include "hil_fixedpoint.h"

void hil_lut_s8(const int8_t *in, int8_t *out, int32_t n, const int8_t *lut)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = lut[(int32_t)in[i] + 128];
    }
}

void hil_clamp_s8(const int8_t *in, int8_t *out, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = (int8_t)hil_clamp_i32(in[i], lo, hi);
    }
}
