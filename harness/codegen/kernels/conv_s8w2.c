/* int8 convolution with 2-bit packed weight codes: hil_pk_conv in packed_w4w2.h (arithmetic,
 * loop order) with the 2-bit unpacker and packed dot product. */
#include "packed_w4w2.h"

void hil_conv_s8w2(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                   const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *scratch, int8_t *out)
{
    hil_pk_conv(p, in, codes, step, bias_eff, mult, shift, scratch, out, hil_unpack_w2, hil_dot_s8w2);
}
