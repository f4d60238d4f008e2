/* ARG_MAX / ARG_MIN; see tensor_ops.h. */
#include "tensor_ops.h"

#define HIL_ARGMAX_BODY                                                           \
    for (int32_t o = 0; o < outer; ++o) {                                         \
        for (int32_t k = 0; k < inner; ++k) {                                     \
            const int32_t base = o * axis * inner + k;                            \
            int32_t best = 0;                                                     \
            for (int32_t i = 1; i < axis; ++i) {                                  \
                const int better = is_max ? in[base + i * inner] > in[base + best * inner] \
                                          : in[base + i * inner] < in[base + best * inner]; \
                if (better) {                                                     \
                    best = i;                                                     \
                }                                                                 \
            }                                                                     \
            out[o * inner + k] = best;                                            \
        }                                                                         \
    }

void hil_argmax_s8(const int8_t *in, int32_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t is_max)
{
    HIL_ARGMAX_BODY
}

void hil_argmax_s16(const int16_t *in, int32_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t is_max)
{
    HIL_ARGMAX_BODY
}

void hil_argmax_f32(const float *in, int32_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t is_max)
{
    HIL_ARGMAX_BODY
}
