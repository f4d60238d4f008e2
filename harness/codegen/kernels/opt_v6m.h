/* Optimized int8 kernels for Cortex-M0/M0+ (ARMv6-M: no DSP extension, no 32x32->64 multiply,
 * 8 low registers), chosen at generation time (harness/codegen/optimized.py); shared parts in
 * opt_common.h.
 *
 * - Conv / FC (hil_opt_conv_v6m): rows widened to int32 once; 8-channel (hil_v6m_g8) or 2x2 MULS
 *   blocks.
 * - Depthwise (hil_opt_dw_v6m): 3x3 over per-channel input planes (hil_v6m_dw_plane), else 9-tap
 *   channel pairs or the shared per-channel loop.
 * - The generator's split-multiplier table requantizes with 3 MULS where the accumulator bound
 *   allows it (hil_v6m_rq).
 * Hand-written functions read their argument blocks at literal offsets: each offset has a
 * _Static_assert beside the struct.
 */
#ifndef HIL_OPT_V6M_H
#define HIL_OPT_V6M_H
#ifndef HIL_OPT_V6M
#define HIL_OPT_V6M 1 /* the family marker (tests and docs test it) */
#endif

#include "opt_common.h"

/* The assembly reads structs at literal offsets; each one is checked here, beside the struct. */
#define HIL_V6M_AT(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " is read at offset " #off " by the assembly")
/* Split-multiplier requantization (v6-M, no 32x32->64 multiply). The generator emits, when every
 * channel has a right shift >= 2, no left shift and |acc| < 2^20 (|bias_eff| + 128 * sum|w|, known
 * from the weights), per channel 16 bytes t = {K, b, (m0, m1, m2, rs) as uint16} (b: the bias the
 * kernel starts from: bias_eff, or for the depthwise plane path bias_eff - 128 * sum(w)), with
 * m = m2*2^22 + m1*2^11 + m0
 * and K = 2^(8+rs) + 2^8 + out_off * 2^(9+rs). Then TFLM's double rounding plus the offset is
 *   u = ((((acc*m0 >> 11) + acc*m1) >> 11) + acc*m2 + K;   out = ((u >> 9) + (acc >> 31)) >> rs
 * exactly: nested floors of one exact quotient, floor((acc*m + 2^(30+rs) +- 2^30) / 2^(31+rs)),
 * the sign picking the nudge; every partial sum fits in 32 bits (the generator checks the
 * bounds). 17 instructions, 3 MULS, against ~35 for the 64-bit high word. */
#define HIL_V6M_RQ_WORDS 4
/* One channel's row of the split table (the generator writes it as 4 int32 words:
 * optimized.py, _v6m_rq_table). The assembly below reads K at #0, b at #4 (hil_v6m_g8: the
 * biases of channels j at 16 * j + 4), m0..rs at #8..#14. */
typedef struct {
    int32_t k, b;
    uint16_t m0, m1, m2, rs;
} hil_v6m_rq_row_t;
HIL_V6M_AT(hil_v6m_rq_row_t, k, 0);
HIL_V6M_AT(hil_v6m_rq_row_t, b, 4);
HIL_V6M_AT(hil_v6m_rq_row_t, m0, 8);
HIL_V6M_AT(hil_v6m_rq_row_t, m1, 10);
HIL_V6M_AT(hil_v6m_rq_row_t, m2, 12);
HIL_V6M_AT(hil_v6m_rq_row_t, rs, 14);
_Static_assert(sizeof(hil_v6m_rq_row_t) == 4 * HIL_V6M_RQ_WORDS, "a split-table row is HIL_V6M_RQ_WORDS words");
/* hil_v6m_rq's instructions (a = the result; x = acc, clobbered; t = the channel's table) */
#define HIL_V6M_RQ_ASM \
    "ldrh %[a], [%[t], #8]\n\t" \
    "muls %[a], %[x], %[a]\n\t" \
    "asrs %[a], %[a], #11\n\t" \
    "ldrh %[b], [%[t], #10]\n\t" \
    "muls %[b], %[x], %[b]\n\t" \
    "adds %[a], %[a], %[b]\n\t" \
    "asrs %[a], %[a], #11\n\t" \
    "ldrh %[b], [%[t], #12]\n\t" \
    "muls %[b], %[x], %[b]\n\t" \
    "adds %[a], %[a], %[b]\n\t" \
    "ldr %[b], [%[t], #0]\n\t" \
    "adds %[a], %[a], %[b]\n\t" \
    "asrs %[a], %[a], #9\n\t" \
    "asrs %[x], %[x], #31\n\t" \
    "adds %[a], %[a], %[x]\n\t" \
    "ldrh %[b], [%[t], #14]\n\t" \
    "asrs %[a], %[a], %[b]\n\t"
HIL_OPT_INL int32_t hil_v6m_rq(int32_t acc, const int32_t *t)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a, b;
    __asm__(".syntax unified\n\t" HIL_V6M_RQ_ASM
            : [a] "=&l"(a), [b] "=&l"(b), [x] "+l"(acc)
            : [t] "l"(t)
            : "cc", "memory");
    return a;
#else
    const uint32_t w2 = (uint32_t)t[2], w3 = (uint32_t)t[3]; /* (m0, m1), (m2, rs) halfwords */
    int32_t a = (acc * (int32_t)(w2 & 0xFFFFu)) >> 11;
    a = (a + acc * (int32_t)(w2 >> 16)) >> 11;
    a = (a + acc * (int32_t)(w3 & 0xFFFFu) + t[0]) >> 9;
    return (a + (acc < 0 ? -1 : 0)) >> (w3 >> 16);
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

/* 2x2 block (rows r, r+1 x channels c, c+1) over k (a multiple of 4). col: per k the two rows'
 * values as int32; w: per k the two channels' weights + 128 as uint8 (LDRB takes an immediate
 * offset, LDRSB does not; the + 128 comes back out as 128 * sum(x) per row). v6-M: 4 LDR/LDRB
 * pairs, 4 MULS and 4 ADDs into high registers per k, 3.5 instructions per MAC. */
HIL_OPT_INL void hil_opt_block_v6m(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a00 = s[0], a01 = s[1], a10 = s[2], a11 = s[3];
    const int32_t *end = col + 2 * kp;
    uint32_t x0, x1, ya, yb;
#define HIL_V6M_K(xo, wo)                                                                          \
    "ldr %[x0], [%[pc], #" #xo "]\n\t"                                                             \
    "ldr %[x1], [%[pc], #" #xo "+4]\n\t"                                                           \
    "ldrb %[ya], [%[pw], #" #wo "]\n\t"                                                            \
    "ldrb %[yb], [%[pw], #" #wo "+1]\n\t"                                                          \
    "muls %[ya], %[x0], %[ya]\n\t"                                                                 \
    "add %[a00], %[ya]\n\t"                                                                        \
    "ldrb %[ya], [%[pw], #" #wo "]\n\t"  /* reloading costs what a copy would, one register less */ \
    "muls %[ya], %[x1], %[ya]\n\t"                                                                 \
    "add %[a10], %[ya]\n\t"                                                                        \
    "muls %[x0], %[yb], %[x0]\n\t"                                                                 \
    "add %[a01], %[x0]\n\t"                                                                        \
    "muls %[yb], %[x1], %[yb]\n\t"                                                                 \
    "add %[a11], %[yb]\n\t"
    __asm__(".syntax unified\n" /* gcc restores its own syntax mode after the block */
            "1:\n\t"
            HIL_V6M_K(0, 0) HIL_V6M_K(8, 2) HIL_V6M_K(16, 4) HIL_V6M_K(24, 6)
            "adds %[pc], #32\n\t"
            "adds %[pw], #8\n\t"
            "cmp %[pc], %[end]\n\t"
            "bne 1b\n\t"
            : [a00] "+h"(a00), [a01] "+h"(a01), [a10] "+h"(a10), [a11] "+h"(a11), [pc] "+l"(col), [pw] "+l"(w),
              [x0] "=&l"(x0), [x1] "=&l"(x1), [ya] "=&l"(ya), [yb] "=&l"(yb)
            : [end] "r"(end)
            : "cc", "memory");
#undef HIL_V6M_K
    s[0] = a00;
    s[1] = a01;
    s[2] = a10;
    s[3] = a11;
#else
    for (int32_t i = 0; i < kp; ++i) {
        const int32_t x0 = col[2 * i], x1 = col[2 * i + 1], ya = w[2 * i], yb = w[2 * i + 1];
        s[0] += x0 * ya;
        s[1] += x0 * yb;
        s[2] += x1 * ya;
        s[3] += x1 * yb;
    }
#endif
}

/* One row (FC with batch 1, a last odd row) x channels c, c+1: 3.5 instructions per MAC. */
HIL_OPT_INL void hil_opt_row_v6m(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a00 = s[0], a01 = s[1];
    const int32_t *end = col + 2 * kp;
    uint32_t x0, ya, yb;
#define HIL_V6M_R(xo, wo)                                                                          \
    "ldr %[x0], [%[pc], #" #xo "]\n\t"                                                             \
    "ldrb %[ya], [%[pw], #" #wo "]\n\t"                                                            \
    "ldrb %[yb], [%[pw], #" #wo "+1]\n\t"                                                          \
    "muls %[ya], %[x0], %[ya]\n\t"                                                                 \
    "add %[a00], %[ya]\n\t"                                                                        \
    "muls %[x0], %[yb], %[x0]\n\t"                                                                 \
    "add %[a01], %[x0]\n\t"
    __asm__(".syntax unified\n"
            "1:\n\t"
            HIL_V6M_R(0, 0) HIL_V6M_R(8, 2) HIL_V6M_R(16, 4) HIL_V6M_R(24, 6)
            "adds %[pc], #32\n\t"
            "adds %[pw], #8\n\t"
            "cmp %[pc], %[end]\n\t"
            "bne 1b\n\t"
            : [a00] "+h"(a00), [a01] "+h"(a01), [pc] "+l"(col), [pw] "+l"(w), [x0] "=&l"(x0), [ya] "=&l"(ya),
              [yb] "=&l"(yb)
            : [end] "r"(end)
            : "cc", "memory");
#undef HIL_V6M_R
    s[0] = a00;
    s[1] = a01;
#else
    for (int32_t i = 0; i < kp; ++i) {
        s[0] += col[2 * i] * w[2 * i];
        s[1] += col[2 * i] * w[2 * i + 1];
    }
#endif
}

/* One row (every other int32 of col: the row pair stays interleaved) times 8 channels: w per k
 * the 8 channels' weights + 128 as uint8. The C form (host, -Os); v6-M -O2 runs hil_v6m_g8. */
HIL_OPT_INL void hil_v6m_row8(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
    int32_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7];
    for (const int32_t *end = col + 2 * kp; col < end; col += 2, w += 8) {
        const int32_t x = col[0];
        a0 += x * w[0];
        a1 += x * w[1];
        a2 += x * w[2];
        a3 += x * w[3];
        a4 += x * w[4];
        a5 += x * w[5];
        a6 += x * w[6];
        a7 += x * w[7];
    }
    s[0] = a0;
    s[1] = a1;
    s[2] = a2;
    s[3] = a3;
    s[4] = a4;
    s[5] = a5;
    s[6] = a6;
    s[7] = a7;
}

/* Rows r (and r+1) of col times every channel, 8 channels at a time (out_c % 8 == 0, the
 * generator's 8-channel weight layout), requantized with the split table (tab[4c+1] = bias_eff). */
HIL_OPT_INL void hil_v6m_rows8(const int32_t *col, const uint8_t *w, int32_t kp, const int32_t *tab, int32_t sum,
                               int8_t *o, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t c = 0; c < n; c += 8, w += 8 * kp, tab += 8 * HIL_V6M_RQ_WORDS, o += 8) {
        int32_t s[8];
        for (int32_t j = 0; j < 8; ++j) {
            s[j] = tab[HIL_V6M_RQ_WORDS * j + 1] - sum;
        }
        hil_v6m_row8(col, w, kp, s);
        for (int32_t j = 0; j < 8; ++j) {
            hil_v6m_rqs(s[j], tab + HIL_V6M_RQ_WORDS * j, lo, hi, o + j);
        }
    }
}

#if defined(HIL_OPT_V6M_ASM)
/* The 8-channel path in one hand-written function: all 13 usable registers hold the MAC loop
 * (x, y, two pointers, the end, eight accumulators in r6-r12 and lr), then each accumulator is
 * requantized (hil_v6m_rq + clamp + STRB) straight from its register; loops over the channel
 * groups of one row. */
typedef struct {
    const int32_t *col; /* 0: the row, every other int32 */
    const uint8_t *w;   /* 4: per 8-channel group, per k, 8 bytes (w + 128) */
    const int32_t *end; /* 8: col + 2 * kp */
    const int32_t *tab; /* 12: split table, HIL_V6M_RQ_WORDS words per channel */
    int8_t *o;          /* 16: the output row */
    int8_t *o_end;      /* 20: o + out_c */
    int32_t sum;        /* 24: 128 * sum(x) of the row */
    int32_t lo, hi;     /* 28, 32: activation bounds */
} hil_v6m_g8_t;
HIL_V6M_AT(hil_v6m_g8_t, col, 0);
HIL_V6M_AT(hil_v6m_g8_t, w, 4);
HIL_V6M_AT(hil_v6m_g8_t, end, 8);
HIL_V6M_AT(hil_v6m_g8_t, tab, 12);
HIL_V6M_AT(hil_v6m_g8_t, o, 16);
HIL_V6M_AT(hil_v6m_g8_t, o_end, 20);
HIL_V6M_AT(hil_v6m_g8_t, sum, 24);
HIL_V6M_AT(hil_v6m_g8_t, lo, 28);
HIL_V6M_AT(hil_v6m_g8_t, hi, 32);
_Static_assert(sizeof(hil_v6m_g8_t) == 4 * 9, "optimized.py reserves V6M_G8_WORDS = 9 words for it");

#define HIL_G8_M(wo, acc)                                                                          \
    "ldrb r4, [r2, #" #wo "]\n\t"                                                                  \
    "muls r4, r3, r4\n\t"                                                                          \
    "add " #acc ", r4\n\t"
#define HIL_G8_K(xo, wo)                                                                           \
    "ldr r3, [r1, #" #xo "]\n\t"                                                                   \
    HIL_G8_M(wo + 0, r8) HIL_G8_M(wo + 1, r9) HIL_G8_M(wo + 2, r10) HIL_G8_M(wo + 3, r11)            \
    HIL_G8_M(wo + 4, r12) HIL_G8_M(wo + 5, lr) HIL_G8_M(wo + 6, r6)                                  \
    "ldrb r4, [r2, #" #wo "+7]\n\t"                                                                \
    "muls r3, r4, r3\n\t"                                                                          \
    "add r7, r3\n\t"
/* acc X (low, destroyed) -> tab r1 + toff -> strb [r2, #oo]; temps r3, r4; clamp bounds LO, HI */
#define HIL_G8_RQ(X, toff, oo, LO, HI)                                                              \
    "ldrh r3, [r1, #" #toff "+8]\n\t"                                                                 \
    "muls r3, " #X ", r3\n\t"                                                                      \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+10]\n\t"                                                               \
    "muls r4, " #X ", r4\n\t"                                                                      \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+12]\n\t"                                                               \
    "muls r4, " #X ", r4\n\t"                                                                      \
    "adds r3, r3, r4\n\t"                                                                          \
    "ldr r4, [r1, #" #toff "]\n\t"                                                              \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #9\n\t"                                                                          \
    "asrs " #X ", " #X ", #31\n\t"                                                                 \
    "adds r3, r3, " #X "\n\t"                                                                      \
    "ldrh r4, [r1, #" #toff "+14]\n\t"                                                              \
    "asrs r3, r3, r4\n\t"                                                                          \
    LO                                                                                             \
    "cmp r3, r5\n\t"                                                                               \
    "bge 3f\n\t"                                                                                   \
    "mov r3, r5\n"                                                                                 \
    "3:\n\t"                                                                                       \
    HI                                                                                             \
    "cmp r3, r5\n\t"                                                                               \
    "ble 4f\n\t"                                                                                   \
    "mov r3, r5\n"                                                                                 \
    "4:\n\t"                                                                                       \
    "strb r3, [r2, #" #oo "]\n\t"
#define HIL_G8_LO_MEM "ldr r5, [r0, #28]\n\t"
#define HIL_G8_HI_MEM "ldr r5, [r0, #32]\n\t"
#define HIL_G8_RQH(H, toff, oo)                                                                     \
    "mov r5, " #H "\n\t"                                                                           \
    "ldrh r3, [r1, #" #toff "+8]\n\t"                                                                 \
    "muls r3, r5, r3\n\t"                                                                          \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+10]\n\t"                                                               \
    "muls r4, r5, r4\n\t"                                                                          \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #11\n\t"                                                                         \
    "ldrh r4, [r1, #" #toff "+12]\n\t"                                                               \
    "muls r4, r5, r4\n\t"                                                                          \
    "adds r3, r3, r4\n\t"                                                                          \
    "ldr r4, [r1, #" #toff "]\n\t"                                                              \
    "adds r3, r3, r4\n\t"                                                                          \
    "asrs r3, r3, #9\n\t"                                                                          \
    "asrs r5, r5, #31\n\t"                                                                         \
    "adds r3, r3, r5\n\t"                                                                          \
    "ldrh r4, [r1, #" #toff "+14]\n\t"                                                              \
    "asrs r3, r3, r4\n\t"                                                                          \
    "cmp r3, r6\n\t"                                                                               \
    "bge 3f\n\t"                                                                                   \
    "mov r3, r6\n"                                                                                 \
    "3:\n\t"                                                                                       \
    "cmp r3, r7\n\t"                                                                               \
    "ble 4f\n\t"                                                                                   \
    "mov r3, r7\n"                                                                                 \
    "4:\n\t"                                                                                       \
    "strb r3, [r2, #" #oo "]\n\t"
#define HIL_G8_B(off, R)                                                                           \
    "ldr r4, [r1, #" #off "]\n\t"                                                                  \
    "subs r4, r4, r3\n\t"                                                                          \
    "mov " #R ", r4\n\t"

__attribute__((naked, noinline, unused)) static void hil_v6m_g8(hil_v6m_g8_t *ctx __attribute__((unused)))
{
    __asm__ volatile(
        ".syntax unified\n\t"
        "push {r4, r5, r6, r7, lr}\n\t"
        "mov r4, r8\n\t"
        "mov r5, r9\n\t"
        "mov r6, r10\n\t"
        "mov r7, r11\n\t"
        "push {r4, r5, r6, r7}\n"
        "0:\n\t"
        "ldr r1, [r0, #12]\n\t"
        "ldr r3, [r0, #24]\n\t"
        HIL_G8_B(4, r8) HIL_G8_B(20, r9) HIL_G8_B(36, r10) HIL_G8_B(52, r11)
        "adds r1, #64\n\t"
        HIL_G8_B(4, r12) HIL_G8_B(20, lr)
        "ldr r6, [r1, #36]\n\t"
        "subs r6, r6, r3\n\t"
        "ldr r7, [r1, #52]\n\t"
        "subs r7, r7, r3\n\t"
        "ldr r1, [r0, #0]\n\t"
        "ldr r2, [r0, #4]\n\t"
        "ldr r5, [r0, #8]\n"
        "1:\n\t"
        HIL_G8_K(0, 0) HIL_G8_K(8, 8) HIL_G8_K(16, 16) HIL_G8_K(24, 24)
        "adds r1, #32\n\t"
        "adds r2, #32\n\t"
        "cmp r1, r5\n\t"
        "bne 1b\n\t"
        "str r2, [r0, #4]\n\t"
        "ldr r1, [r0, #12]\n\t"
        "ldr r2, [r0, #16]\n\t"
        "adds r1, #64\n\t"
        HIL_G8_RQ(r6, 32, 6, HIL_G8_LO_MEM, HIL_G8_HI_MEM)
        HIL_G8_RQ(r7, 48, 7, HIL_G8_LO_MEM, HIL_G8_HI_MEM)
        "ldr r6, [r0, #28]\n\t"
        "ldr r7, [r0, #32]\n\t"
        HIL_G8_RQH(r12, 0, 4) HIL_G8_RQH(lr, 16, 5)
        "subs r1, #64\n\t"
        HIL_G8_RQH(r8, 0, 0) HIL_G8_RQH(r9, 16, 1) HIL_G8_RQH(r10, 32, 2) HIL_G8_RQH(r11, 48, 3)
        "adds r1, #128\n\t"
        "str r1, [r0, #12]\n\t"
        "adds r2, #8\n\t"
        "str r2, [r0, #16]\n\t"
        "ldr r3, [r0, #20]\n\t"
        "cmp r2, r3\n\t"
        "beq 9f\n\t"
        "b 0b\n"
        "9:\n\t"
        "pop {r4, r5, r6, r7}\n\t"
        "mov r8, r4\n\t"
        "mov r9, r5\n\t"
        "mov r10, r6\n\t"
        "mov r11, r7\n\t"
        "pop {r4, r5, r6, r7, pc}\n\t");
}
#undef HIL_G8_M
#undef HIL_G8_K
#undef HIL_G8_RQ
#undef HIL_G8_RQH
#undef HIL_G8_B
#undef HIL_G8_LO_MEM
#undef HIL_G8_HI_MEM
#endif

/* One output of the general pair loop: the split table when there is one, else hil_opt_out. */
HIL_OPT_INL void hil_v6m_put(const hil_opt_conv_t *p, int32_t acc, int32_t c, const int32_t *tab, const int32_t *mult,
                             const int32_t *rsh, const int32_t *lsh, int8_t *dst)
{
    if (tab) {
        hil_v6m_rqs(acc, tab + HIL_V6M_RQ_WORDS * c, p->act_min, p->act_max, dst);
    } else {
        *dst = hil_opt_out(p, acc, c, mult, rsh, lsh);
    }
}

/* n int8 values -> every other int32 of dst; returns their sum. */
HIL_OPT_INL int32_t hil_v6m_copyw(const int8_t *src, int32_t n, int32_t *dst)
{
    int32_t sx = 0, i = 0;
#if !defined(__OPTIMIZE_SIZE__)
    for (; i + 4 <= n; i += 4, src += 4, dst += 8) {
        const int32_t v0 = src[0], v1 = src[1], v2 = src[2], v3 = src[3];
        dst[0] = v0;
        dst[2] = v1;
        dst[4] = v2;
        dst[6] = v3;
        sx += v0 + v1 + v2 + v3;
    }
#endif
    for (; i < n; ++i, dst += 2) {
        const int32_t v = *src++;
        dst[0] = v;
        sx += v;
    }
    return sx;
}

/* int8 row (k values) -> every other int32 of dst (the row pair interleaved), zero padded to kp;
 * returns sum(x). */
HIL_OPT_INL int32_t hil_v6m_widen(const int8_t *src, int32_t k, int32_t kp, int32_t *dst)
{
    const int32_t sx = hil_v6m_copyw(src, k, dst);
    for (int32_t i = k; i < kp; ++i) {
        dst[2 * i] = 0;
    }
    return sx;
}

/* One im2col row (output pixel with top-left tap at input (y0, x0)) straight into every other
 * int32 of dst, zero-padded to kp: taps outside the input read the zero point. Without dilation
 * along x the taps inside form one contiguous run per kernel row: zero points, a copy, zero
 * points. Returns sum(x). */
HIL_OPT_INL int32_t hil_v6m_im2col(const hil_opt_conv_t *p, const int8_t *in_b, int32_t y0, int32_t x0, int32_t *dst)
{
    /* the fields in locals: stores through dst (int32_t) could alias *p and force reloads */
    const int32_t C = p->in_c, kw = p->k_w, seg = kw * C, zp = p->in_zp, in_h = p->in_h, in_w = p->in_w;
    const int32_t k_h = p->k_h, dil_h = p->dil_h, dil_w = p->dil_w, kp = p->kp;
    int32_t sx = 0, i;
    int32_t *const start = dst;
#if !defined(__OPTIMIZE_SIZE__)
    const int32_t xin = dil_w == 1 && x0 >= 0 && x0 + kw <= in_w; /* every tap of a row inside */
#endif
    for (int32_t ky = 0; ky < k_h; ++ky) {
        const int32_t y = y0 + ky * dil_h;
        if (y < 0 || y >= in_h) {
            for (i = 0; i < seg; ++i, dst += 2) {
                dst[0] = zp;
            }
            sx += zp * seg;
            continue;
        }
        const int8_t *row = in_b + y * in_w * C;
#if !defined(__OPTIMIZE_SIZE__)
        if (xin) {
            sx += hil_v6m_copyw(row + x0 * C, seg, dst);
            dst += 2 * seg;
            continue;
        }
        /* the kernel columns [ka, kb) fall inside the input */
        const int32_t ka = x0 < 0 ? -x0 : 0, kb0 = in_w - x0, kb = kb0 < kw ? kb0 : kw;
        const int32_t run = dil_w == 1 && kb > ka ? (kb - ka) * C : -1;
        if (run >= 0) {
            for (i = 0; i < ka * C; ++i, dst += 2) {
                dst[0] = zp;
            }
            sx += hil_v6m_copyw(row + (x0 + ka) * C, run, dst) + zp * (seg - run);
            dst += 2 * run;
            for (i = kb * C; i < seg; ++i, dst += 2) {
                dst[0] = zp;
            }
            continue;
        }
#endif
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t x = x0 + kx * dil_w;
            if (x >= 0 && x < in_w) {
                const int8_t *src = row + x * C;
                for (i = 0; i < C; ++i, dst += 2) {
                    const int32_t v = src[i];
                    dst[0] = v;
                    sx += v;
                }
            } else {
                for (i = 0; i < C; ++i, dst += 2) {
                    dst[0] = zp;
                }
                sx += zp * C;
            }
        }
    }
    for (i = (int32_t)((dst - start) / 2); i < kp; ++i, dst += 2) {
        dst[0] = 0;
    }
    return sx;
}

/* Conv / FC as a matrix product on v6-M, two rows at a time. w: generator layout (per channel
 * pair, per k, (wa + 128, wb + 128)); bias/mult/rsh padded to an even channel count.
 * scratch: kp/4 + 2 kp words. */
HIL_OPT_FN void hil_opt_conv_v6m(const hil_opt_conv_t *params, const int8_t *in, const uint8_t *w, const int32_t *bias,
                                const int32_t *mult, const int32_t *rsh, const int32_t *lsh, int32_t *scratch,
                                 int8_t *out)
{
    /* no local copy of the parameters: 104 bytes of a 2 KB stack; the hot loops are asm */
    const hil_opt_conv_t *p = params;
    int8_t *tmp = (int8_t *)scratch;
    int32_t *col = scratch + p->kp / 4;
    const int32_t k = p->k, kp = p->kp, n = p->out_c;
    /* v6-M: with no left shift, `lsh` carries the generator's split-multiplier table instead */
    const int32_t *tab = p->has_lshift ? (const int32_t *)0 : lsh;
    int32_t ox = 0, oy = 0, bt = 0; /* the next im2col row's output pixel */
    (void)tmp;
    for (int32_t r = 0; r < p->rows; r += 2) {
        const int32_t two = r + 1 < p->rows;
        int32_t sum[2] = {0, 0};
        /* both rows are read into col before any output of the pair is written (in place) */
        for (int32_t j = 0; j < 1 + two; ++j) {
            if (p->direct) {
                sum[j] = hil_v6m_widen(in + (r + j) * k, k, kp, col + j) * 128;
                continue;
            }
            /* im2col straight into col; (ox, oy, bt) follow the row index without divisions */
            sum[j] = hil_v6m_im2col(p, in + bt * p->in_h * p->in_w * p->in_c, oy * p->stride_h - p->pad_h,
                                    ox * p->stride_w - p->pad_w, col + j) * 128;
            if (++ox == p->out_w) {
                ox = 0;
                if (++oy == p->out_h) {
                    oy = 0;
                    ++bt;
                }
            }
        }
        int8_t *o0 = out + r * n, *o1 = o0 + n;
        if (tab && (n & 7) == 0) {
#if defined(HIL_OPT_V6M_ASM)
            /* its arguments after col in the scratch (the generator adds their 9 words): not on the
             * 2 KB stack */
            hil_v6m_g8_t *g = (hil_v6m_g8_t *)(void *)(col + 2 * kp);
            g->col = col;
            g->w = w;
            g->end = col + 2 * kp;
            g->tab = tab;
            g->o = o0;
            g->o_end = o0 + n;
            g->sum = sum[0];
            g->lo = p->act_min;
            g->hi = p->act_max;
            hil_v6m_g8(g);
            if (two) {
                g->col = col + 1;
                g->w = w;
                g->end = col + 1 + 2 * kp;
                g->tab = tab;
                g->o = o1;
                g->o_end = o1 + n;
                g->sum = sum[1];
                hil_v6m_g8(g);
            }
#else
            hil_v6m_rows8(col, w, kp, tab, sum[0], o0, n, p->act_min, p->act_max);
            if (two) {
                hil_v6m_rows8(col + 1, w, kp, tab, sum[1], o1, n, p->act_min, p->act_max);
            }
#endif
            continue;
        }
        /* other channel counts: 2x2 blocks, outputs one by one (small layers: FC heads, odd widths) */
        for (int32_t c = 0; c < n; c += 2) {
            int32_t s[4] = {bias[c] - sum[0], bias[c + 1] - sum[0], bias[c] - sum[1], bias[c + 1] - sum[1]};
            if (two) {
                hil_opt_block_v6m(col, w + c * kp, kp, s);
            } else {
                hil_opt_row_v6m(col, w + c * kp, kp, s);
            }
            if (!tab) { /* layers without a split table (e.g. 128-deep FCs): four stores */
                o0[c] = hil_opt_out(p, s[0], c, mult, rsh, lsh);
                if (two) {
                    o1[c] = hil_opt_out(p, s[2], c, mult, rsh, lsh);
                }
                if (c + 1 < n) {
                    o0[c + 1] = hil_opt_out(p, s[1], c + 1, mult, rsh, lsh);
                    if (two) {
                        o1[c + 1] = hil_opt_out(p, s[3], c + 1, mult, rsh, lsh);
                    }
                }
                continue;
            }
            for (int32_t j = 0; j < 4; ++j) { /* j: row j >> 1, channel c + (j & 1) */
                if ((j < 2 || two) && c + (j & 1) < n) {
                    hil_v6m_put(p, s[(j & 1) + 2 * (j >> 1)], c + (j & 1), tab, mult, rsh, lsh,
                                (j < 2 ? o0 : o1) + c + (j & 1));
                }
            }
        }
    }
}

/* Depthwise helpers */
/* 3x3 depthwise, channels c and c+1 of one output pixel: tp = the 9 taps' input rows, w = the 9
 * taps of channel c then of channel c+1, as int32. v6-M: LDRSH reads both channels' inputs, SXTB /
 * ASRS split them, 10 instructions per 2 MACs. */
HIL_OPT_INL void hil_opt_dw9_v6m(const int8_t *const *tp, int32_t c, const int32_t *w, int32_t *a0, int32_t *a1)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t s0 = *a0, s1 = *a1;
    uint32_t v, x1, w0, w1;
#define HIL_DW9_TAP(t, wo)                                                                         \
    "ldr %[v], [%[tab], #" #t "*4]\n\t"                                                            \
    "ldrsh %[v], [%[v], %[c]]\n\t"                                                                 \
    "asrs %[x1], %[v], #8\n\t"                                                                     \
    "sxtb %[v], %[v]\n\t"                                                                          \
    "ldr %[w0], [%[pw], #" #wo "]\n\t"                                                             \
    "ldr %[w1], [%[pw], #" #wo "+36]\n\t"                                                          \
    "muls %[w0], %[v], %[w0]\n\t"                                                                  \
    "add %[s0], %[w0]\n\t"                                                                         \
    "muls %[w1], %[x1], %[w1]\n\t"                                                                 \
    "add %[s1], %[w1]\n\t"
    __asm__(".syntax unified\n\t"
            HIL_DW9_TAP(0, 0) HIL_DW9_TAP(1, 4) HIL_DW9_TAP(2, 8) HIL_DW9_TAP(3, 12) HIL_DW9_TAP(4, 16)
            HIL_DW9_TAP(5, 20) HIL_DW9_TAP(6, 24) HIL_DW9_TAP(7, 28) HIL_DW9_TAP(8, 32)
            : [s0] "+h"(s0), [s1] "+h"(s1), [v] "=&l"(v), [x1] "=&l"(x1), [w0] "=&l"(w0), [w1] "=&l"(w1)
            : [tab] "l"(tp), [c] "l"(c), [pw] "l"(w)
            : "cc", "memory");
#undef HIL_DW9_TAP
    *a0 = s0;
    *a1 = s1;
#else
    for (int32_t t = 0; t < 9; ++t) {
        *a0 += (int32_t)tp[t][c] * w[t];
        *a1 += (int32_t)tp[t][c + 1] * w[9 + t];
    }
#endif
}

/* 3x3 depthwise, stride 1, dilation 1, out_w <= 12, with the split requantization table (tab[4c+1]
 * = bias_eff - 128 * sum(w_c)): per channel, its input plane is copied once into scratch as
 * uint8 (x + 128; padding = zero point + 128) with rows HIL_V6M_DWS bytes apart, so every tap of
 * two horizontally adjacent outputs is an immediate-offset LDRB from one base. Per kernel row the
 * six products of the pair chain through two registers (x0*w0, w0*x1, x1*w1, w1*x2, x2*w2, w2*x3),
 * each loaded value destroyed by its last MULS: 19 instructions per 6 MACs. Output channel c
 * depends on input channel c only, and a channel's plane is copied before any of its outputs is
 * written, so `out` may overlap `in` (in-place). w32: 9 int32 taps per channel. */
#define HIL_V6M_DWS 14 /* taps at offsets <= 2 * 14 + 3 = 31, LDRB's immediate range */
HIL_OPT_INL void hil_v6m_dw_pair(const uint8_t *b, const int32_t *w, int32_t *s0, int32_t *s1)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a0 = *s0, a1 = *s1;
    uint32_t x, y;
#define HIL_DWP_ROW(r, wo)                                                                         \
    "ldrb %[x], [%[b], #" #r "]\n\t"                                                               \
    "ldr %[y], [%[w], #" #wo "]\n\t"                                                               \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"                                                                  \
    "ldrb %[x], [%[b], #" #r "+1]\n\t"                                                             \
    "muls %[y], %[x], %[y]\n\t"                                                                    \
    "adds %[a1], %[a1], %[y]\n\t"                                                                  \
    "ldr %[y], [%[w], #" #wo "+4]\n\t"                                                             \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"                                                                  \
    "ldrb %[x], [%[b], #" #r "+2]\n\t"                                                             \
    "muls %[y], %[x], %[y]\n\t"                                                                    \
    "adds %[a1], %[a1], %[y]\n\t"                                                                  \
    "ldr %[y], [%[w], #" #wo "+8]\n\t"                                                             \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"                                                                  \
    "ldrb %[x], [%[b], #" #r "+3]\n\t"                                                             \
    "muls %[y], %[x], %[y]\n\t"                                                                    \
    "adds %[a1], %[a1], %[y]\n\t"
    __asm__(".syntax unified\n\t"
            HIL_DWP_ROW(0, 0) HIL_DWP_ROW(14, 12) HIL_DWP_ROW(28, 24)
            : [a0] "+l"(a0), [a1] "+l"(a1), [x] "=&l"(x), [y] "=&l"(y)
            : [b] "l"(b), [w] "l"(w)
            : "cc", "memory");
#undef HIL_DWP_ROW
    *s0 = a0;
    *s1 = a1;
#else
    for (int32_t ky = 0; ky < 3; ++ky) {
        for (int32_t kx = 0; kx < 3; ++kx) {
            *s0 += (int32_t)b[ky * HIL_V6M_DWS + kx] * w[3 * ky + kx];
            *s1 += (int32_t)b[ky * HIL_V6M_DWS + kx + 1] * w[3 * ky + kx];
        }
    }
#endif
}

/* One output (an odd last column): 9 x (LDRB, LDR, MULS, ADDS). */
HIL_OPT_INL void hil_v6m_dw_one(const uint8_t *b, const int32_t *w, int32_t *s0)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a0 = *s0;
    uint32_t x, y;
#define HIL_DW1_TAP(r, wo)                                                                         \
    "ldrb %[x], [%[b], #" #r "]\n\t"                                                               \
    "ldr %[y], [%[w], #" #wo "]\n\t"                                                               \
    "muls %[x], %[y], %[x]\n\t"                                                                    \
    "adds %[a0], %[a0], %[x]\n\t"
    __asm__(".syntax unified\n\t"
            HIL_DW1_TAP(0, 0) HIL_DW1_TAP(1, 4) HIL_DW1_TAP(2, 8)
            HIL_DW1_TAP(14, 12) HIL_DW1_TAP(15, 16) HIL_DW1_TAP(16, 20)
            HIL_DW1_TAP(28, 24) HIL_DW1_TAP(29, 28) HIL_DW1_TAP(30, 32)
            : [a0] "+l"(a0), [x] "=&l"(x), [y] "=&l"(y)
            : [b] "l"(b), [w] "l"(w)
            : "cc", "memory");
#undef HIL_DW1_TAP
    *s0 = a0;
#else
    for (int32_t ky = 0; ky < 3; ++ky) {
        for (int32_t kx = 0; kx < 3; ++kx) {
            *s0 += (int32_t)b[ky * HIL_V6M_DWS + kx] * w[3 * ky + kx];
        }
    }
#endif
}

#if defined(HIL_OPT_V6M_ASM)
/* One channel of hil_v6m_dw_plane in one hand-written function: its output rows, pairs then an odd
 * last column, each accumulator requantized from its register. */
typedef struct {
    const uint8_t *b;    /* 0: the plane */
    const int32_t *w;    /* 4: the channel's 9 taps */
    const int32_t *tab;  /* 8: the channel's split table row */
    int8_t *o;           /* 12: its first output */
    int32_t c;           /* 16: output pixel stride (in_c) */
    int32_t lo, hi;      /* 20, 24 */
    const uint8_t *bend; /* 28: plane + out_h * HIL_V6M_DWS */
    int32_t npair;       /* 32: out_w & ~1 */
    int32_t odd;         /* 36: out_w & 1 */
    int32_t skip;        /* 40: HIL_V6M_DWS - npair */
} hil_v6m_dwc_t;
HIL_V6M_AT(hil_v6m_dwc_t, b, 0);
HIL_V6M_AT(hil_v6m_dwc_t, w, 4);
HIL_V6M_AT(hil_v6m_dwc_t, tab, 8);
HIL_V6M_AT(hil_v6m_dwc_t, o, 12);
HIL_V6M_AT(hil_v6m_dwc_t, c, 16);
HIL_V6M_AT(hil_v6m_dwc_t, lo, 20);
HIL_V6M_AT(hil_v6m_dwc_t, hi, 24);
HIL_V6M_AT(hil_v6m_dwc_t, bend, 28);
HIL_V6M_AT(hil_v6m_dwc_t, npair, 32);
HIL_V6M_AT(hil_v6m_dwc_t, odd, 36);
HIL_V6M_AT(hil_v6m_dwc_t, skip, 40);
_Static_assert(sizeof(hil_v6m_dwc_t) == 4 * 11, "optimized.py reserves V6M_DWC_WORDS = 11 words for it");

#define HIL_DWC_ROW(r, wo)                                                                         \
    "ldrb r2, [r0, #" #r "]\n\t"                                                                   \
    "ldr r3, [r1, #" #wo "]\n\t"                                                                   \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"                                                                          \
    "ldrb r2, [r0, #" #r "+1]\n\t"                                                                 \
    "muls r3, r2, r3\n\t"                                                                          \
    "adds r5, r5, r3\n\t"                                                                          \
    "ldr r3, [r1, #" #wo "+4]\n\t"                                                                 \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"                                                                          \
    "ldrb r2, [r0, #" #r "+2]\n\t"                                                                 \
    "muls r3, r2, r3\n\t"                                                                          \
    "adds r5, r5, r3\n\t"                                                                          \
    "ldr r3, [r1, #" #wo "+8]\n\t"                                                                 \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"                                                                          \
    "ldrb r2, [r0, #" #r "+3]\n\t"                                                                 \
    "muls r3, r2, r3\n\t"                                                                          \
    "adds r5, r5, r3\n\t"
#define HIL_DWC_ONE(r, wo)                                                                         \
    "ldrb r2, [r0, #" #r "]\n\t"                                                                   \
    "ldr r3, [r1, #" #wo "]\n\t"                                                                   \
    "muls r2, r3, r2\n\t"                                                                          \
    "adds r4, r4, r2\n\t"
#define HIL_DWC_RQ(X)                                                                              \
    "ldrh r2, [r6, #8]\n\t"                                                                         \
    "muls r2, " #X ", r2\n\t"                                                                      \
    "asrs r2, r2, #11\n\t"                                                                         \
    "ldrh r3, [r6, #10]\n\t"                                                                         \
    "muls r3, " #X ", r3\n\t"                                                                      \
    "adds r2, r2, r3\n\t"                                                                          \
    "asrs r2, r2, #11\n\t"                                                                         \
    "ldrh r3, [r6, #12]\n\t"                                                                         \
    "muls r3, " #X ", r3\n\t"                                                                      \
    "adds r2, r2, r3\n\t"                                                                          \
    "ldr r3, [r6, #0]\n\t"                                                                        \
    "adds r2, r2, r3\n\t"                                                                          \
    "asrs r2, r2, #9\n\t"                                                                          \
    "asrs " #X ", " #X ", #31\n\t"                                                                 \
    "adds r2, r2, " #X "\n\t"                                                                      \
    "ldrh r3, [r6, #14]\n\t"                                                                        \
    "asrs r2, r2, r3\n\t"                                                                          \
    "cmp r2, r9\n\t"                                                                               \
    "bge 3f\n\t"                                                                                   \
    "mov r2, r9\n"                                                                                 \
    "3:\n\t"                                                                                       \
    "cmp r2, r10\n\t"                                                                              \
    "ble 4f\n\t"                                                                                   \
    "mov r2, r10\n"                                                                                \
    "4:\n\t"                                                                                       \
    "strb r2, [r7, #0]\n\t"                                                                        \
    "add r7, r8\n\t"

__attribute__((naked, noinline, unused)) static void hil_v6m_dwc(hil_v6m_dwc_t *ctx __attribute__((unused)))
{
    __asm__ volatile(
        ".syntax unified\n\t"
        "push {r4, r5, r6, r7, lr}\n\t"
        "mov r4, r8\n\t"
        "mov r5, r9\n\t"
        "mov r6, r10\n\t"
        "mov r7, r11\n\t"
        "push {r4, r5, r6, r7}\n\t"
        "mov r12, r0\n\t"
        "ldr r1, [r0, #4]\n\t"
        "ldr r6, [r0, #8]\n\t"
        "ldr r7, [r0, #12]\n\t"
        "ldr r2, [r0, #16]\n\t"
        "mov r8, r2\n\t"
        "ldr r2, [r0, #20]\n\t"
        "mov r9, r2\n\t"
        "ldr r2, [r0, #24]\n\t"
        "mov r10, r2\n\t"
        "ldr r2, [r0, #28]\n\t"
        "mov lr, r2\n\t"
        "ldr r0, [r0, #0]\n"
        "0:\n\t"                                 /* an output row: r0 = its plane row */
        "mov r2, r12\n\t"
        "ldr r3, [r2, #32]\n\t"
        "adds r3, r0, r3\n\t"
        "mov r11, r3\n\t"
        "cmp r0, r3\n\t"
        "beq 5f\n"
        "1:\n\t"                                 /* two outputs */
        "ldr r4, [r6, #4]\n\t"
        "movs r5, r4\n\t"
        HIL_DWC_ROW(0, 0) HIL_DWC_ROW(14, 12) HIL_DWC_ROW(28, 24)
        HIL_DWC_RQ(r4) HIL_DWC_RQ(r5)
        "adds r0, #2\n\t"
        "cmp r0, r11\n\t"
        "bne 1b\n"
        "5:\n\t"                                 /* an odd last column */
        "mov r2, r12\n\t"
        "ldr r3, [r2, #36]\n\t"
        "cmp r3, #0\n\t"
        "beq 6f\n\t"
        "ldr r4, [r6, #4]\n\t"
        HIL_DWC_ONE(0, 0) HIL_DWC_ONE(1, 4) HIL_DWC_ONE(2, 8)
        HIL_DWC_ONE(14, 12) HIL_DWC_ONE(15, 16) HIL_DWC_ONE(16, 20)
        HIL_DWC_ONE(28, 24) HIL_DWC_ONE(29, 28) HIL_DWC_ONE(30, 32)
        HIL_DWC_RQ(r4)
        "6:\n\t"
        "mov r2, r12\n\t"
        "ldr r3, [r2, #40]\n\t"
        "adds r0, r0, r3\n\t"
        "cmp r0, lr\n\t"
        "beq 9f\n\t"
        "b 0b\n"
        "9:\n\t"
        "pop {r4, r5, r6, r7}\n\t"
        "mov r8, r4\n\t"
        "mov r9, r5\n\t"
        "mov r10, r6\n\t"
        "mov r11, r7\n\t"
        "pop {r4, r5, r6, r7, pc}\n\t");
}
#undef HIL_DWC_ROW
#undef HIL_DWC_ONE
#undef HIL_DWC_RQ
#endif

HIL_OPT_FN void hil_v6m_dw_plane(const hil_opt_conv_t *p, const int8_t *in, const int32_t *w32, const int32_t *tab,
                                 uint8_t *plane, int8_t *out)
{
    const int32_t C = p->in_c, ih = p->in_h, iw = p->in_w, oh = p->out_h, ow = p->out_w;
    const int32_t pt = p->pad_h, pl = p->pad_w, lo = p->act_min, hi = p->act_max;
    /* plane row py holds input row py - pt, column px input column px - pl */
    const int32_t y0 = pt > 0 ? 0 : -pt, y1 = ih < oh + 2 - pt ? ih : oh + 2 - pt;
    const int32_t x0 = pl > 0 ? 0 : -pl, x1 = iw < ow + 2 - pl ? iw : ow + 2 - pl;
    memset(plane, (uint8_t)(p->in_zp + 128), (size_t)((oh + 2) * HIL_V6M_DWS));
    for (int32_t bt = 0; bt < p->batches; ++bt) {
        const int8_t *in_b = in + bt * ih * iw * C;
        int8_t *out_b = out + bt * oh * ow * C;
        for (int32_t c = 0; c < C; ++c) {
            for (int32_t y = y0; y < y1; ++y) {
                const int8_t *s = in_b + (y * iw + x0) * C + c;
                uint8_t *d = plane + (y + pt) * HIL_V6M_DWS + x0 + pl;
                uint8_t *e = d + (x1 - x0);
                for (; d < e; ++d, s += C) {
                    *d = (uint8_t)(*s + 128);
                }
            }
            const int32_t *wc = w32 + 9 * c, *tc = tab + HIL_V6M_RQ_WORDS * c;
            int8_t *o = out_b + c;
#if defined(HIL_OPT_V6M_ASM)
            if (oh > 0 && ow > 0) {
                /* the arguments after the plane in the scratch (the generator adds their words) */
                hil_v6m_dwc_t *g = (hil_v6m_dwc_t *)(void *)(plane + HIL_V6M_DWS * ((oh + 5) & ~3));
                g->b = plane;
                g->w = wc;
                g->tab = tc;
                g->o = o;
                g->c = C;
                g->lo = lo;
                g->hi = hi;
                g->bend = plane + oh * HIL_V6M_DWS;
                g->npair = ow & ~1;
                g->odd = ow & 1;
                g->skip = HIL_V6M_DWS - (ow & ~1);
                hil_v6m_dwc(g);
            }
            continue;
#endif
            for (int32_t oy = 0; oy < oh; ++oy) {
                const uint8_t *b = plane + oy * HIL_V6M_DWS;
                const uint8_t *e = b + (ow & ~1);
                for (; b < e; b += 2) {
                    int32_t a0 = tc[1], a1 = a0;
                    hil_v6m_dw_pair(b, wc, &a0, &a1);
                    hil_v6m_rqs(a0, tc, lo, hi, o);
                    hil_v6m_rqs(a1, tc, lo, hi, o + C);
                    o += 2 * C;
                }
                if (ow & 1) {
                    int32_t a0 = tc[1];
                    hil_v6m_dw_one(b, wc, &a0);
                    hil_v6m_rqs(a0, tc, lo, hi, o);
                    o += C;
                }
            }
        }
    }
}

/* Depthwise, depth multiplier 1. w8: the 1HWC filter as is; w16 (3x3): instead per channel its 9
 * taps as int32 (LDR with immediate offsets). 3x3 stride-1 layers with a split table go through
 * per-channel planes (hil_v6m_dw_plane, the whole layer at once); other 9-tap layers with an even
 * channel count by channel pairs; the rest channel by channel (opt_common.h). */
HIL_OPT_FN void hil_opt_dw_v6m(const hil_opt_conv_t *params, const int8_t *in, const int8_t *w8, const int16_t *w16,
                               const int32_t *bias, const int32_t *mult, const int32_t *rsh, const int32_t *lsh,
                               int32_t *scratch, int8_t *out)
{
    /* a local copy: stores through int8_t pointers cannot alias it, so fields stay in registers */
    const hil_opt_conv_t pcopy = *params;
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c, kh = p->k_h, kw = p->k_w, taps = kh * kw;
    /* the tap table lives in the scratch, not on the stack (2 KB stacks on the M0+ boards) */
    const int8_t **tp = (const int8_t **)(void *)scratch;
    int8_t *zrow = (int8_t *)(void *)(tp + taps);
    (void)w16;
    (void)w8;
    for (int32_t c = 0; c < C; ++c) {
        zrow[c] = (int8_t)p->in_zp;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                hil_opt_dw_taps(p, in_b, y0, x0, zrow, tp);
                /* with no left shift, `lsh` carries the generator's split table (hil_v6m_rq; with an
                 * even channel count the generator then emits no mult/rsh arrays). The channel-plane
                 * path runs at -Os too: the generator relies on it to run such layers in place
                 * (optimized.py, v6m_plane_dw) */
                const int32_t *tab = p->has_lshift ? (const int32_t *)0 : lsh;
                if (kh == 3 && kw == 3 && w16 && tab && p->stride_h == 1 && p->stride_w == 1 && p->dil_h == 1 &&
                    p->dil_w == 1 && p->out_w <= HIL_V6M_DWS - 2) { /* the whole layer, from its first pixel */
                    hil_v6m_dw_plane(p, in, (const int32_t *)(const void *)w16, tab, (uint8_t *)(void *)scratch, out);
                    return;
                }
                if (taps == 9 && (C & 1) == 0 && w16) {
                    const int32_t *wq = (const int32_t *)(const void *)w16; /* v6-M: 9 int32 per channel */
                    for (int32_t c = 0; c < C; c += 2, wq += 18) {
                        int32_t a0 = bias[c], a1 = bias[c + 1];
                        hil_opt_dw9_v6m(tp, c, wq, &a0, &a1);
                        if (tab) {
                            out[c] = hil_v6m_clamp(hil_v6m_rq(a0, tab + HIL_V6M_RQ_WORDS * c), p->act_min, p->act_max);
                            out[c + 1] = hil_v6m_clamp(hil_v6m_rq(a1, tab + HIL_V6M_RQ_WORDS * (c + 1)), p->act_min,
                                                       p->act_max);
                        } else {
                            out[c] = hil_opt_out(p, a0, c, mult, rsh, lsh);
                            out[c + 1] = hil_opt_out(p, a1, c + 1, mult, rsh, lsh);
                        }
                    }
                    out += C;
                    continue;
                }
                hil_opt_dw_pixel(p, tp, w8, bias, mult, rsh, lsh, out);
                out += C;
            }
        }
    }
}

#endif /* HIL_OPT_V6M_H */
