/* int8 ADD/SUB without broadcast, for the optimized targets (residual connections): each input's
 * rescaled term depends on its int8 value alone, so both are tabulated once per call (2 x 256
 * int32 in the scratch, the same hil_mbqm as hil_addsub_q_) and an element costs two table loads,
 * one add and the output requantization. Bit-exact with hil_add_s8 / hil_sub_s8 (and TFLM). */
#include "arith.h"
#include "opt_common.h" /* the single-rounding requantizations (v6-M high word, v7-M SMLAL) */

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
#if defined(HIL_OPT_RQ_ASM) || defined(__ARM_ARCH_6M__)
    if (mo >= 0 && so <= -2) {
        /* both roundings in the high word of raw * mo +- 2^30 (opt_common.h, hil_opt_rq's rs2 path) */
        const int32_t rs = -so - 2, z2 = 1 + 2 * zo;
#if defined(HIL_OPT_RQ_ASM)
        /* v7-M: SMLAL, SSAT (6 instructions instead of hil_mbqm's ~20); tables indexed by the
         * signed input (LDRSB, no XOR): ~15 instructions an element */
        const int32_t *u1 = t1 + 128, *u2 = t2 + 128;
        if (lo == -128 && hi == 127) {
            for (int32_t i = 0; i < n; ++i) {
                out[i] = (int8_t)hil_opt_rq2_dsp(u1[in1[i]] + u2[in2[i]], mo, rs, z2, 1);
            }
        } else {
            for (int32_t i = 0; i < n; ++i) {
                out[i] = (int8_t)hil_clamp_i32(hil_opt_rq2_dsp(u1[in1[i]] + u2[in2[i]], mo, rs, z2, 0), lo, hi);
            }
        }
#else
        /* v6-M: the high word without a 64-bit multiply, ~45 instructions an element instead of ~105 */
        for (int32_t i = 0; i < n; ++i) {
            const int32_t raw = t1[(uint8_t)(in1[i] ^ 0x80)] + t2[(uint8_t)(in2[i] ^ 0x80)];
#if defined(HIL_OPT_V6M_ASM)
            const int32_t h = hil_opt_hi_v6m_asm(raw, mo);
#else
            const int32_t sgn = raw >> 31;
            const int32_t h = hil_opt_hi_v6m(raw, mo, 0x40000000u ^ ((uint32_t)sgn << 31), sgn);
#endif
            out[i] = (int8_t)hil_clamp_i32(((h >> rs) + z2) >> 1, lo, hi);
        }
#endif
        return;
    }
#endif
    for (int32_t i = 0; i < n; ++i) {
        const int32_t raw = t1[(uint8_t)(in1[i] ^ 0x80)] + t2[(uint8_t)(in2[i] ^ 0x80)];
        out[i] = (int8_t)hil_clamp_i32(hil_mbqm(raw, mo, so) + zo, lo, hi);
    }
}
