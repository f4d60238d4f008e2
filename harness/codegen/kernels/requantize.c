/* int -> int requantization: q_out = clamp(M * (q_in - zp_in) + zp_out), TFLM double rounding. */
#include "quantize.h"
#include "hil_fixedpoint.h"

#define HIL_REQUANTIZE(NAME, TIN, TOUT, LO, HI)                                                  \
    void NAME(const hil_quant_params_t *p, const TIN *in, TOUT *out)                           \
    {                                                                                            \
        for (int32_t i = 0; i < p->size; ++i) {                                                  \
            const int32_t v = hil_mbqm((int32_t)in[i] - p->input_zero_point, p->multiplier,      \
                                       p->shift) + p->output_zero_point;                         \
            out[i] = (TOUT)hil_clamp_i32(v, LO, HI);                                             \
        }                                                                                        \
    }

HIL_REQUANTIZE(hil_requantize_s8_s8, int8_t, int8_t, -128, 127)
HIL_REQUANTIZE(hil_requantize_s8_s16, int8_t, int16_t, -32768, 32767)
HIL_REQUANTIZE(hil_requantize_s16_s8, int16_t, int8_t, -128, 127)
HIL_REQUANTIZE(hil_requantize_s16_s16, int16_t, int16_t, -32768, 32767)
