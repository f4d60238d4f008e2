/* int8 softmax in fixed point (TFLM's integer algorithm, bit-exact).
 *
 * Differences x - max are scaled by beta * input_scale into Q5.26, exp() of these non-positive
 * values is evaluated in Q0.31 (polynomial on [-1/4, 0) times exp(-2^k) factors for the
 * integer part), summed in Q12.19, and the sum is inverted with Newton-Raphson iterations.
 */
#include "softmax.h"
#include "hil_fixedpoint.h"

#define HIL_ONE_Q31 HIL_INT32_MAX

/* exp(x) for x in [-1/4, 0), x and result in Q0.31: Taylor series around -1/8. */
static int32_t hil_exp_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                 /* x = a + 1/8 */
    const int32_t x2 = hil_srdhm(x, x);
    const int32_t x3 = hil_srdhm(x2, x);
    const int32_t x4 = hil_srdhm(x2, x2);
    const int32_t x4_over_4 = hil_rdbpot(x4, 2);
    const int32_t poly = hil_rdbpot(hil_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + hil_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result in Q0.31. */
static int32_t hil_exp_neg_q5_26(int32_t a)
{
    /* exp(-2^k) in Q0.31 for k = -2..4 */
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535, 720401, 242};
    const int32_t quarter = 1 << 24;   /* 1/4 in Q5.26 */
    const int32_t mask = quarter - 1;
    const int32_t a_mod = (a & mask) - quarter; /* in [-1/4, 0) */
    int32_t result = hil_exp_quarter(hil_sat_lshift(a_mod, 5));
    const int32_t remainder = a_mod - a;        /* >= 0: the multiple of 1/4 removed */
    for (int k = 0; k < 7; ++k) {
        if (remainder & (1 << (24 + k))) {
            result = hil_srdhm(result, factors[k]);
        }
    }
    return a == 0 ? HIL_ONE_Q31 : result;
}

/* 1 / (1 + x) for x in [0, 1) in Q0.31; result in Q0.31 (Newton-Raphson, 3 steps, Q2.29). */
static int32_t hil_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + HIL_ONE_Q31;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810;      /* 48/17 in Q2.29 */
    const int32_t cneg32_17 = -1010580540;  /* -32/17 in Q2.29 */
    int32_t x = c48_17 + hil_srdhm(half_denominator, cneg32_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t hd_x = hil_srdhm(half_denominator, x);     /* Q2.29 */
        const int32_t one_minus = (1 << 29) - hd_x;               /* Q2.29 */
        x = x + hil_sat_lshift(hil_srdhm(x, one_minus), 2);       /* Q4.27 -> Q2.29 */
    }
    return hil_sat_lshift(x, 1); /* x / 2 in Q1.30 read as Q0.31 */
}

/* Shared body: writes one row of unsaturated outputs through `store`. */
static void hil_softmax_row(const hil_softmax_params_t *p, const int8_t *in, int32_t out_bits,
                            int32_t out_min, int32_t out_max, int8_t *o8, int16_t *o16)
{
    int32_t max_v = -128;
    for (int32_t c = 0; c < p->depth; ++c) {
        max_v = hil_max_i32(max_v, in[c]);
    }
    int32_t sum = 0; /* Q12.19 */
    for (int32_t c = 0; c < p->depth; ++c) {
        const int32_t diff = (int32_t)in[c] - max_v;
        if (diff >= p->diff_min) {
            const int32_t scaled = hil_mbqm_gt1(diff, p->input_multiplier, p->input_shift);
            sum += hil_rdbpot(hil_exp_neg_q5_26(scaled), 12);
        }
    }
    const int32_t headroom_plus_one = hil_clz32((uint32_t)sum);
    const int32_t bits_over_unit = 12 - headroom_plus_one;
    const int32_t shifted_minus_one =
        (int32_t)(((uint32_t)sum << headroom_plus_one) - ((uint32_t)1 << 31));
    const int32_t scale = hil_one_over_one_plus_x(shifted_minus_one);
    for (int32_t c = 0; c < p->depth; ++c) {
        const int32_t diff = (int32_t)in[c] - max_v;
        int32_t v = out_min;
        if (diff >= p->diff_min) {
            const int32_t scaled = hil_mbqm_gt1(diff, p->input_multiplier, p->input_shift);
            const int32_t e = hil_exp_neg_q5_26(scaled);
            v = hil_rdbpot(hil_srdhm(scale, e), bits_over_unit + 31 - out_bits) + out_min;
            v = hil_clamp_i32(v, out_min, out_max);
        }
        if (o8) {
            o8[c] = (int8_t)v;
        } else {
            o16[c] = (int16_t)v;
        }
    }
}

void hil_softmax_s8(const hil_softmax_params_t *p, const int8_t *in, int8_t *out)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        hil_softmax_row(p, in + r * p->depth, 8, -128, 127, out + r * p->depth, (int16_t *)0);
    }
}

void hil_softmax_s8_s16(const hil_softmax_params_t *p, const int8_t *in, int16_t *out)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        hil_softmax_row(p, in + r * p->depth, 16, -32768, 32767, (int8_t *)0, out + r * p->depth);
    }
}
