/* int8 ADD/SUB without broadcast, for the optimized targets (residual connections): each input's
 * rescaled term depends on its int8 value alone, so both are tabulated once per call (2 x 256
 * int32 in the scratch, the same hil_mbqm as hil_addsub_q_) and an element costs two table loads,
 * one add and the output requantization. Bit-exact with hil_add_s8 / hil_sub_s8 (and TFLM). */
#include "arith.h"

void hil_addsub_lut_s8(const hil_addsub_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n,
                       int32_t sub, int32_t *tables)
{
    int32_t *t1 = tables, *t2 = tables + 256;
    for (int32_t v = -128; v < 128; ++v) {
        t1[v + 128] = hil_mbqm((v + p->in1_offset) * ((int32_t)1 << p->left_shift), p->in1_mult, p->in1_shift);
        const int32_t x2 = hil_mbqm((v + p->in2_offset) * ((int32_t)1 << p->left_shift), p->in2_mult, p->in2_shift);
        t2[v + 128] = sub ? -x2 : x2;
    }
    const int32_t mo = p->out_mult, so = p->out_shift, zo = p->out_offset, lo = p->act_min, hi = p->act_max;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t raw = t1[(uint8_t)(in1[i] ^ 0x80)] + t2[(uint8_t)(in2[i] ^ 0x80)];
        out[i] = (int8_t)hil_clamp_i32(hil_mbqm(raw, mo, so) + zo, lo, hi);
    }
}
