/* Cortex-M0/M0+ (ARMv6-M) split requantization: the generator's per-channel table (3 or 4 pieces
 * of the multiplier, optimized.py) and the instruction sequence every v6-M kernel requantizes
 * with (the hand-written ones paste HIL_V6M_RQ_SEQ). Included by opt_v6m.h. */
#ifndef HIL_OPT_V6M_RQ_H
#define HIL_OPT_V6M_RQ_H

#include "opt_common.h"

/* The assembly reads structs at literal offsets; each one is checked here, beside the struct. */
#define HIL_V6M_AT(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " is read at offset " #off " by the assembly")
/* Split-multiplier requantization (v6-M, no 32x32->64 multiply). The generator emits, when every
 * channel has a right shift >= 2, no left shift and a small enough |acc| (|bias_eff| + 128 * sum|w|,
 * known from the weights), per channel 16 bytes t = {K, b, pieces of m, rs} (b: the bias the kernel
 * starts from: bias_eff, or for the depthwise plane path bias_eff - 128 * sum(w)); the model's
 * format (optimized.py, v6m_rq_pieces):
 * - HIL_V6M_RQ3 (opt_v6m_rq3.h, |acc| < 2^20): m = m2*2^22 + m1*2^11 + m0 (uint16 m0, m1 at #8, #10;
 *   m2, rs at #12, #14), K = 2^(8+rs) + 2^8 + out_off * 2^(9+rs),
 *   u = ((((acc*m0 >> 11) + acc*m1) >> 11) + acc*m2 + K;  out = ((u >> 9) + (acc >> 31)) >> rs
 *   (17 instructions, 3 MULS);
 * - else (|acc| < 2^23): m = m3*2^24 + m2*2^16 + m1*2^8 + m0 (uint8 at #8..#11; rs at #12),
 *   K = 2^(6+rs) + 2^6 + out_off * 2^(7+rs),
 *   u = ((((((acc*m0 >> 8) + acc*m1) >> 8) + acc*m2) >> 8) + acc*m3 + K;
 *   out = ((u >> 7) + (acc >> 31)) >> rs   (21 instructions, 4 MULS).
 * Both are TFLM's double rounding plus the offset exactly: nested floors of one exact quotient,
 * floor((acc*m + 2^(30+rs) +- 2^30) / 2^(31+rs)), the sign picking the nudge; every partial sum fits
 * in 32 bits (the generator checks the bounds). ~35 instructions for the 64-bit high word. */
#define HIL_V6M_RQ_WORDS 4
/* One channel's row of the split table (the generator writes it as 4 int32 words:
 * optimized.py, _v6m_rq_table). The assembly reads K at #0, b at #4 (hil_v6m_g8: the biases of
 * channels j at 16 * j + 4), the pieces and rs from #8 (LDRB / LDRH immediates). */
#if defined(HIL_V6M_RQ3)
typedef struct {
    int32_t k, b;
    uint16_t m0, m1, m2, rs;
} hil_v6m_rq_row_t;
HIL_V6M_AT(hil_v6m_rq_row_t, m0, 8);
HIL_V6M_AT(hil_v6m_rq_row_t, m1, 10);
HIL_V6M_AT(hil_v6m_rq_row_t, m2, 12);
HIL_V6M_AT(hil_v6m_rq_row_t, rs, 14);
/* The split requantization of acc X (low register, destroyed) with the table row at T: result in
 * A; B a temporary. */
#define HIL_V6M_RQ_SEQ(A, B, X, T)                                                                 \
    "ldrh " A ", [" T ", #8]\n\t"                                                                  \
    "muls " A ", " X ", " A "\n\t"                                                                 \
    "asrs " A ", " A ", #11\n\t"                                                                   \
    "ldrh " B ", [" T ", #10]\n\t"                                                                 \
    "muls " B ", " X ", " B "\n\t"                                                                 \
    "adds " A ", " A ", " B "\n\t"                                                                 \
    "asrs " A ", " A ", #11\n\t"                                                                   \
    "ldrh " B ", [" T ", #12]\n\t"                                                                 \
    "muls " B ", " X ", " B "\n\t"                                                                 \
    "adds " A ", " A ", " B "\n\t"                                                                 \
    "ldr " B ", [" T ", #0]\n\t"                                                                   \
    "adds " A ", " A ", " B "\n\t"                                                                 \
    "asrs " A ", " A ", #9\n\t"                                                                    \
    "asrs " X ", " X ", #31\n\t"                                                                   \
    "adds " A ", " A ", " X "\n\t"                                                                 \
    "ldrh " B ", [" T ", #14]\n\t"                                                                 \
    "asrs " A ", " A ", " B "\n\t"
#else
typedef struct {
    int32_t k, b;
    uint8_t m0, m1, m2, m3;
    int32_t rs;
} hil_v6m_rq_row_t;
HIL_V6M_AT(hil_v6m_rq_row_t, m0, 8);
HIL_V6M_AT(hil_v6m_rq_row_t, m1, 9);
HIL_V6M_AT(hil_v6m_rq_row_t, m2, 10);
HIL_V6M_AT(hil_v6m_rq_row_t, m3, 11);
HIL_V6M_AT(hil_v6m_rq_row_t, rs, 12);
#define HIL_V6M_RQ_SEQ(A, B, X, T)                                                                 \
    "ldrb " A ", [" T ", #8]\n\t"                                                                  \
    "muls " A ", " X ", " A "\n\t"                                                                 \
    "asrs " A ", " A ", #8\n\t"                                                                    \
    "ldrb " B ", [" T ", #9]\n\t"                                                                  \
    "muls " B ", " X ", " B "\n\t"                                                                 \
    "adds " A ", " A ", " B "\n\t"                                                                 \
    "asrs " A ", " A ", #8\n\t"                                                                    \
    "ldrb " B ", [" T ", #10]\n\t"                                                                 \
    "muls " B ", " X ", " B "\n\t"                                                                 \
    "adds " A ", " A ", " B "\n\t"                                                                 \
    "asrs " A ", " A ", #8\n\t"                                                                    \
    "ldrb " B ", [" T ", #11]\n\t"                                                                 \
    "muls " B ", " X ", " B "\n\t"                                                                 \
    "adds " A ", " A ", " B "\n\t"                                                                 \
    "ldr " B ", [" T ", #0]\n\t"                                                                   \
    "adds " A ", " A ", " B "\n\t"                                                                 \
    "asrs " A ", " A ", #7\n\t"                                                                    \
    "asrs " X ", " X ", #31\n\t"                                                                   \
    "adds " A ", " A ", " X "\n\t"                                                                 \
    "ldrb " B ", [" T ", #12]\n\t"                                                                 \
    "asrs " A ", " A ", " B "\n\t"
#endif
HIL_V6M_AT(hil_v6m_rq_row_t, k, 0);
HIL_V6M_AT(hil_v6m_rq_row_t, b, 4);
_Static_assert(sizeof(hil_v6m_rq_row_t) == 4 * HIL_V6M_RQ_WORDS, "a split-table row is HIL_V6M_RQ_WORDS words");
/* hil_v6m_rq's instructions (a = the result; x = acc, clobbered; t = the channel's table) */
#define HIL_V6M_RQ_ASM HIL_V6M_RQ_SEQ("%[a]", "%[b]", "%[x]", "%[t]")
HIL_OPT_INL int32_t hil_v6m_rq(int32_t acc, const int32_t *t)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a, b;
    __asm__(".syntax unified\n\t" HIL_V6M_RQ_ASM
            : [a] "=&l"(a), [b] "=&l"(b), [x] "+l"(acc)
            : [t] "l"(t)
            : "cc", "memory");
    return a;
#elif defined(HIL_V6M_RQ3)
    const uint32_t w2 = (uint32_t)t[2], w3 = (uint32_t)t[3]; /* (m0, m1), (m2, rs) halfwords */
    int32_t a = (acc * (int32_t)(w2 & 0xFFFFu)) >> 11;
    a = (a + acc * (int32_t)(w2 >> 16)) >> 11;
    a = (a + acc * (int32_t)(w3 & 0xFFFFu) + t[0]) >> 9;
    return (a + (acc < 0 ? -1 : 0)) >> (w3 >> 16);
#else
    const uint32_t w2 = (uint32_t)t[2]; /* m0..m3, one byte each */
    int32_t a = (acc * (int32_t)(w2 & 0xFFu)) >> 8;
    a = (a + acc * (int32_t)((w2 >> 8) & 0xFFu)) >> 8;
    a = (a + acc * (int32_t)((w2 >> 16) & 0xFFu)) >> 8;
    a = (a + acc * (int32_t)(w2 >> 24) + t[0]) >> 7;
    return (a + (acc < 0 ? -1 : 0)) >> t[3];
#endif
}

HIL_OPT_INL int8_t hil_v6m_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* *dst = the requantized, clamped acc: hil_v6m_rq + two compare-and-branch clamps + STRB, 22
 * instructions when nothing saturates. */
HIL_OPT_INL void hil_v6m_rqs(int32_t acc, const int32_t *t, int32_t lo, int32_t hi, int8_t *dst)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a, b;
    __asm__ volatile(".syntax unified\n\t" HIL_V6M_RQ_ASM
                     "cmp %[a], %[lo]\n\t"
                     "bge 1f\n\t"
                     "mov %[a], %[lo]\n"
                     "1:\n\t"
                     "cmp %[a], %[hi]\n\t"
                     "ble 2f\n\t"
                     "mov %[a], %[hi]\n"
                     "2:\n\t"
                     "strb %[a], [%[d], #0]\n\t"
                     : [a] "=&l"(a), [b] "=&l"(b), [x] "+l"(acc)
                     : [t] "l"(t), [lo] "r"(lo), [hi] "r"(hi), [d] "l"(dst)
                     : "cc", "memory");
#else
    *dst = hil_v6m_clamp(hil_v6m_rq(acc, t), lo, hi);
#endif
}

#endif /* HIL_OPT_V6M_RQ_H */
