/* int16 softmax (TFLM's LUT algorithm): exp() and 1/(1+x) from 513-entry Q0.15 tables with
 * linear interpolation; the tables are generated on the host with TFLM's float recipe. */
#include "softmax.h"
#include "hil_fixedpoint.h"

/* value in [-32768, 32767] indexes 512 segments; interpolate inside a segment of 128. */
static int16_t hil_lut16(int16_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = (int16_t)(lut[index + 1] - lut[index]);
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

void hil_softmax_s16(const hil_softmax_params_t *p, const int16_t *in, int16_t *out)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const int16_t *x = in + r * p->depth;
        int16_t *y = out + r * p->depth;
        int32_t max_v = -32768;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_v = hil_max_i32(max_v, x[c]);
        }
        int32_t sum = 0; /* Q16.15 */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t scaled = hil_mbqm((int32_t)x[c] - max_v, p->input_multiplier, p->input_shift);
            const int32_t sym = hil_clamp_i32(scaled + 32767, -32768, 32767);
            y[c] = hil_lut16((int16_t)sym, p->exp_lut); /* output doubles as scratch */
            sum += y[c];
        }
        const int32_t hp1 = hil_clz32((uint32_t)sum);
        const int32_t shifted = (int32_t)((((int64_t)sum << (hp1 - 1)) + (1 << 13)) >> 14);
        const int32_t sym_sum = hil_clamp_i32(shifted - ((1 << 15) + (1 << 16)), -32768, 32767);
        const int32_t recip = hil_lut16((int16_t)sym_sum, p->one_over_one_plus_x);
        const int32_t right_shift = 31 - hp1;
        const int64_t round = (int64_t)1 << (right_shift - 1);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t v = (int32_t)(((int64_t)y[c] * recip + round) >> right_shift);
            y[c] = (int16_t)hil_clamp_i32(v, 0, 32767);
        }
    }
}
