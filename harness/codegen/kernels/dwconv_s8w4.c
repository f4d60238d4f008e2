/* int8 depthwise convolution with 4-bit packed weight codes: the shared kernel in dwconv_s8pk.h. */
#include "dwconv_s8pk.h"

void hil_dwconv_s8w4(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                     const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                     int8_t *out)
{
    hil_dwconv_s8pk(4, p, in, codes, step, bias, bias_eff, mult, shift, out);
}
