/* int8 fully connected with 2-bit packed weight codes: the shared kernel hil_pk_fc in
 * packed_w4w2.h. */
#include "packed_w4w2.h"

void hil_fc_s8w2(const hil_fc_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                 const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *out)
{
    hil_pk_fc(p, in, codes, step, bias_eff, mult, shift, out, hil_dot_s8w2);
}
