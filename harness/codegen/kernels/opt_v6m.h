/* Optimized int8 kernels for Cortex-M0/M0+ (ARMv6-M: no DSP extension, no 32x32->64 multiply,
 * 8 low registers), chosen at generation time (harness/codegen/optimized.py); shared parts in
 * opt_common.h.
 *
 * - Conv / FC (hil_opt_conv_v6m): rows widened to int32 once; 8-channel (hil_v6m_g8) or 2x2 MULS
 *   blocks.
 * - Depthwise (hil_opt_dw_v6m, in opt_v6m_dw.h): 3x3 over per-channel input planes (hil_v6m_dw_plane), else 9-tap
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

/* 2x2 block (rows r, r+1 x channels c, c+1) over k (a multiple of 4). col: the two rows' values as
 * int32, row r+1 kp words after row r; w: per k the two channels' weights + 128 as uint8 (LDRB
 * takes an immediate offset, LDRSB does not; the + 128 comes back out as 128 * sum(x) per row).
 * v6-M: 4 LDR/LDRB pairs, 4 MULS and 4 ADDs into high registers per k, ~3.6 instructions per MAC. */
HIL_OPT_INL void hil_opt_block_v6m(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t a00 = s[0], a01 = s[1], a10 = s[2], a11 = s[3];
    const int32_t *col1 = col + kp, *end = col + 2 * kp; /* the loop ends when row r+1's pointer gets there */
    uint32_t x0, x1, ya, yb;
#define HIL_V6M_K(xo, wo)                                                                          \
    "ldr %[x0], [%[pc], #" #xo "]\n\t"                                                             \
    "ldr %[x1], [%[pd], #" #xo "]\n\t"                                                             \
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
            HIL_V6M_K(0, 0) HIL_V6M_K(4, 2) HIL_V6M_K(8, 4) HIL_V6M_K(12, 6)
            "adds %[pc], #16\n\t"
            "adds %[pd], #16\n\t"
            "adds %[pw], #8\n\t"
            "cmp %[pd], %[end]\n\t"
            "bne 1b\n\t"
            /* early-clobber pointers: gcc may otherwise give `end` the register of an equal pointer */
            : [a00] "+h"(a00), [a01] "+h"(a01), [a10] "+h"(a10), [a11] "+h"(a11), [pc] "+&l"(col), [pd] "+&l"(col1),
              [pw] "+&l"(w), [x0] "=&l"(x0), [x1] "=&l"(x1), [ya] "=&l"(ya), [yb] "=&l"(yb)
            : [end] "r"(end)
            : "cc", "memory");
#undef HIL_V6M_K
    s[0] = a00;
    s[1] = a01;
    s[2] = a10;
    s[3] = a11;
#else
    for (int32_t i = 0; i < kp; ++i) {
        const int32_t x0 = col[i], x1 = col[kp + i], ya = w[2 * i], yb = w[2 * i + 1];
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
    const int32_t *end = col + kp;
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
            HIL_V6M_R(0, 0) HIL_V6M_R(4, 2) HIL_V6M_R(8, 4) HIL_V6M_R(12, 6)
            "adds %[pc], #16\n\t"
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
        s[0] += col[i] * w[2 * i];
        s[1] += col[i] * w[2 * i + 1];
    }
#endif
}

/* One row (kp consecutive int32) times 8 channels: w per k the 8 channels' weights + 128 as
 * uint8. The C form (host, -Os); v6-M -O2 runs hil_v6m_g8. */
HIL_OPT_INL void hil_v6m_row8(const int32_t *col, const uint8_t *w, int32_t kp, int32_t *s)
{
    int32_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7];
    for (const int32_t *end = col + kp; col < end; ++col, w += 8) {
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

/* One row (kp consecutive int32) times every channel, 8 channels at a time (out_c % 8 == 0, the
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
    const int32_t *col; /* 0: the row, kp consecutive int32 */
    const uint8_t *w;   /* 4: per 8-channel group, per k, 8 bytes (w + 128) */
    const int32_t *end; /* 8: col + kp (kp % 4 == 0; 8 inputs a loop, entered halfway when kp % 8) */
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
/* r3 clamped to [LO, HI] (registers, or r5 after the loads LOAD_LO / LOAD_HI), stored at r2 + oo */
#define HIL_G8_CLAMP(LOAD_LO, LO, LOAD_HI, HI, oo)                                                 \
    LOAD_LO                                                                                        \
    "cmp r3, " LO "\n\t"                                                                           \
    "bge 3f\n\t"                                                                                   \
    "mov r3, " LO "\n"                                                                             \
    "3:\n\t"                                                                                       \
    LOAD_HI                                                                                        \
    "cmp r3, " HI "\n\t"                                                                           \
    "ble 4f\n\t"                                                                                   \
    "mov r3, " HI "\n"                                                                             \
    "4:\n\t"                                                                                       \
    "strb r3, [r2, #" #oo "]\n\t"
/* low acc X (destroyed), its table row at r1 -> output byte oo; bounds from the argument block
 * (r6, r7 still hold accumulators) */
#define HIL_G8_RQ(X, oo)                                                                           \
    HIL_V6M_RQ_SEQ("r3", "r4", #X, "r1")                                                           \
    HIL_G8_CLAMP("ldr r5, [r0, #28]\n\t", "r5", "ldr r5, [r0, #32]\n\t", "r5", oo)
/* high acc H: via r5; bounds in r6, r7 */
#define HIL_G8_RQH(H, oo)                                                                          \
    "mov r5, " #H "\n\t"                                                                           \
    HIL_V6M_RQ_SEQ("r3", "r4", "r5", "r1")                                                         \
    HIL_G8_CLAMP("", "r6", "", "r7", oo)
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
        "ldr r5, [r0, #8]\n\t"
        "subs r3, r5, r1\n\t" /* 4 kp: with kp % 8 == 4 start in the second half */
        "lsls r3, r3, #27\n\t"
        "bpl 1f\n\t"
        "subs r1, #16\n\t"
        "b 5f\n"
        "1:\n\t"
        HIL_G8_K(0, 0) HIL_G8_K(4, 8) HIL_G8_K(8, 16) HIL_G8_K(12, 24)
        "adds r2, #32\n" /* LDRB's immediates reach 31 */
        "5:\n\t"
        HIL_G8_K(16, 0) HIL_G8_K(20, 8) HIL_G8_K(24, 16) HIL_G8_K(28, 24)
        "adds r1, #32\n\t"
        "adds r2, #32\n\t"
        "cmp r1, r5\n\t"
        "beq 2f\n\t" /* BNE reaches 256 bytes back, the loop is 410 */
        "b 1b\n"
        "2:\n\t"
        "str r2, [r0, #4]\n\t"
        "ldr r1, [r0, #12]\n\t"
        "ldr r2, [r0, #16]\n\t"
        "adds r1, #96\n\t" /* channel 6's row (LDRB reaches 31 bytes: one row at a time) */
        HIL_G8_RQ(r6, 6)
        "adds r1, #16\n\t"
        HIL_G8_RQ(r7, 7)
        "ldr r6, [r0, #28]\n\t"
        "ldr r7, [r0, #32]\n\t"
        "subs r1, #48\n\t"
        HIL_G8_RQH(r12, 4)
        "adds r1, #16\n\t"
        HIL_G8_RQH(lr, 5)
        "subs r1, #80\n\t"
        HIL_G8_RQH(r8, 0)
        "adds r1, #16\n\t"
        HIL_G8_RQH(r9, 1)
        "adds r1, #16\n\t"
        HIL_G8_RQH(r10, 2)
        "adds r1, #16\n\t"
        HIL_G8_RQH(r11, 3)
        "adds r1, #80\n\t" /* the next group's table */
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
#undef HIL_G8_CLAMP
#undef HIL_G8_RQ
#undef HIL_G8_RQH
#undef HIL_G8_B
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

#if defined(HIL_OPT_V6M_ASM)
/* rows (>= 1) runs of n (a multiple of 8, > 0) int8 values, n + skip bytes apart in src ->
 * consecutive int32 of dst; returns their sum. 8 values a loop (LDRB, SXTB, ADD into the sum, two
 * STMIAs): 3.6 instructions a value, 6 a run. Out of line: one copy for every caller (flash). */
__attribute__((noinline)) static int32_t hil_v6m_copy8(const int8_t *src, int32_t n, int32_t *dst, int32_t rows,
                                                       int32_t skip)
{
    register int32_t a __asm__("r4"), b __asm__("r5"), c __asm__("r6"), d __asm__("r7");
    const int8_t *end = src + n;
    const int32_t step = n + skip;
    int32_t sx = 0;
    __asm__ volatile(".syntax unified\n"
#define HIL_V6M_W4(o)                                                                              \
    "ldrb %[a], [%[s], #" #o "]\n\t"                                                               \
    "ldrb %[b], [%[s], #" #o "+1]\n\t"                                                             \
    "ldrb %[c], [%[s], #" #o "+2]\n\t"                                                             \
    "ldrb %[d], [%[s], #" #o "+3]\n\t"                                                             \
    "sxtb %[a], %[a]\n\t"                                                                          \
    "sxtb %[b], %[b]\n\t"                                                                          \
    "sxtb %[c], %[c]\n\t"                                                                          \
    "sxtb %[d], %[d]\n\t"                                                                          \
    "add %[sx], %[a]\n\t"                                                                          \
    "add %[sx], %[b]\n\t"                                                                          \
    "add %[sx], %[c]\n\t"                                                                          \
    "add %[sx], %[d]\n\t"                                                                          \
    "stmia %[o]!, {%[a], %[b], %[c], %[d]}\n\t"
                     "1:\n\t" HIL_V6M_W4(0) HIL_V6M_W4(4)
                     "adds %[s], #8\n\t"
                     "cmp %[s], %[e]\n\t"
                     "bne 1b\n\t"
                     "add %[s], %[k]\n\t" /* the next run */
                     "add %[e], %[st]\n\t"
                     "mov %[a], %[r]\n\t"
                     "subs %[a], #1\n\t"
                     "mov %[r], %[a]\n\t"
                     "bne 1b\n\t"
                     : [a] "=&l"(a), [b] "=&l"(b), [c] "=&l"(c), [d] "=&l"(d), [s] "+&l"(src), [o] "+&l"(dst),
                       [sx] "+&h"(sx), [e] "+&h"(end), [r] "+&h"(rows)
                     : [k] "h"(skip), [st] "h"(step)
                     : "cc", "memory");
#undef HIL_V6M_W4
    return sx;
}
#endif

/* n int8 values -> consecutive int32 of dst; returns their sum. */
HIL_OPT_INL int32_t hil_v6m_copyw(const int8_t *src, int32_t n, int32_t *dst)
{
    int32_t sx = 0, i = 0;
#if defined(HIL_OPT_V6M_ASM)
    if (n >= 8) {
        i = n & ~7;
        sx = hil_v6m_copy8(src, i, dst, 1, 0);
        src += i;
        dst += i;
    }
#endif
#if !defined(__OPTIMIZE_SIZE__)
    for (; i + 4 <= n; i += 4, src += 4, dst += 4) {
        const int32_t v0 = src[0], v1 = src[1], v2 = src[2], v3 = src[3];
        dst[0] = v0;
        dst[1] = v1;
        dst[2] = v2;
        dst[3] = v3;
        sx += v0 + v1 + v2 + v3;
    }
#endif
    for (; i < n; ++i, ++dst) {
        const int32_t v = *src++;
        dst[0] = v;
        sx += v;
    }
    return sx;
}

/* int8 row (k values) -> consecutive int32 of dst, zero padded to kp; returns sum(x). */
HIL_OPT_INL int32_t hil_v6m_widen(const int8_t *src, int32_t k, int32_t kp, int32_t *dst)
{
    const int32_t sx = hil_v6m_copyw(src, k, dst);
    for (int32_t i = k; i < kp; ++i) {
        dst[i] = 0;
    }
    return sx;
}

/* One im2col row (output pixel with top-left tap at input (y0, x0)) straight into consecutive
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
#if defined(HIL_OPT_V6M_ASM)
    if (xin && (seg & 7) == 0 && seg > 0 && dil_h == 1 && y0 >= 0 && y0 + k_h <= in_h) {
        /* every tap inside, whole rows of 8: one call for the window */
        sx = hil_v6m_copy8(in_b + (y0 * in_w + x0) * C, seg, dst, k_h, (in_w - kw) * C);
        dst += k_h * seg;
    } else
#endif
    for (int32_t ky = 0; ky < k_h; ++ky) {
        const int32_t y = y0 + ky * dil_h;
        if (y < 0 || y >= in_h) {
            for (i = 0; i < seg; ++i, ++dst) {
                dst[0] = zp;
            }
            sx += zp * seg;
            continue;
        }
        const int8_t *row = in_b + y * in_w * C;
#if !defined(__OPTIMIZE_SIZE__)
        if (xin) {
            sx += hil_v6m_copyw(row + x0 * C, seg, dst);
            dst += seg;
            continue;
        }
        /* the kernel columns [ka, kb) fall inside the input */
        const int32_t ka = x0 < 0 ? -x0 : 0, kb0 = in_w - x0, kb = kb0 < kw ? kb0 : kw;
        const int32_t run = dil_w == 1 && kb > ka ? (kb - ka) * C : -1;
        if (run >= 0) {
            for (i = 0; i < ka * C; ++i, ++dst) {
                dst[0] = zp;
            }
            sx += hil_v6m_copyw(row + (x0 + ka) * C, run, dst) + zp * (seg - run);
            dst += run;
            for (i = kb * C; i < seg; ++i, ++dst) {
                dst[0] = zp;
            }
            continue;
        }
#endif
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t x = x0 + kx * dil_w;
            if (x >= 0 && x < in_w) {
                const int8_t *src = row + x * C;
                for (i = 0; i < C; ++i, ++dst) {
                    const int32_t v = src[i];
                    dst[0] = v;
                    sx += v;
                }
            } else {
                for (i = 0; i < C; ++i, ++dst) {
                    dst[0] = zp;
                }
                sx += zp * C;
            }
        }
    }
    for (i = (int32_t)(dst - start); i < kp; ++i, ++dst) {
        dst[0] = 0;
    }
    return sx;
}

/* The next output pixel of the im2col walk: (ox, oy, bt) follow the row index without divisions. */
HIL_OPT_INL void hil_v6m_next(const hil_opt_conv_t *p, int32_t *ox, int32_t *oy, int32_t *bt)
{
    if (++*ox == p->out_w) {
        *ox = 0;
        if (++*oy == p->out_h) {
            *oy = 0;
            ++*bt;
        }
    }
}

/* Row r of the matrix product (a direct row or the im2col row of the pixel (ox, oy, bt)) into kp
 * consecutive int32 of col; returns 128 * sum(x). */
HIL_OPT_INL int32_t hil_v6m_load_row(const hil_opt_conv_t *p, const int8_t *in, int32_t r, int32_t ox, int32_t oy,
                                     int32_t bt, int32_t *col)
{
    if (p->direct) {
        return hil_v6m_widen(in + r * p->k, p->k, p->kp, col) * 128;
    }
    return hil_v6m_im2col(p, in + bt * p->in_h * p->in_w * p->in_c, oy * p->stride_h - p->pad_h,
                          ox * p->stride_w - p->pad_w, col) * 128;
}

/* Conv / FC as a matrix product on v6-M. With the split table and out_c % 8 == 0 one row at a
 * time (kp int32 in the scratch, then hil_v6m_g8's 9 argument words), w in the 8-channel layout;
 * else two rows at a time (2 kp words, row r+1 after row r), w per channel pair, per k, (wa + 128,
 * wb + 128); bias/mult/rsh padded to an even channel count. A row (pair) is read before any of
 * its outputs is written (1x1 in place). The row loads are one out-of-line call site. */
HIL_OPT_FN void hil_opt_conv_v6m(const hil_opt_conv_t *params, const int8_t *in, const uint8_t *w, const int32_t *bias,
                                const int32_t *mult, const int32_t *rsh, const int32_t *lsh, int32_t *scratch,
                                 int8_t *out)
{
    /* no local copy of the parameters: 104 bytes of a 2 KB stack; the hot loops are asm */
    const hil_opt_conv_t *p = params;
    int32_t *col = scratch;
    const int32_t kp = p->kp, n = p->out_c;
    /* v6-M: with no left shift, `lsh` carries the generator's split-multiplier table instead */
    const int32_t *tab = p->has_lshift ? (const int32_t *)0 : lsh;
    int32_t ox = 0, oy = 0, bt = 0; /* the next im2col row's output pixel */
    const int32_t g8 = tab && (n & 7) == 0;
    for (int32_t r = 0; r < p->rows; r += 2 - g8) {
        const int32_t two = !g8 && r + 1 < p->rows;
        int32_t sum[2] = {0, 0};
        /* both rows are read into col before any output of the pair is written (in place) */
        for (int32_t j = 0; j < 1 + two; ++j) {
            sum[j] = hil_v6m_load_row(p, in, r + j, ox, oy, bt, col + j * kp);
            hil_v6m_next(p, &ox, &oy, &bt);
        }
        if (g8) {
#if defined(HIL_OPT_V6M_ASM)
            /* its arguments after col in the scratch (the generator adds their 9 words): not on the
             * 2 KB stack */
            hil_v6m_g8_t *g = (hil_v6m_g8_t *)(void *)(col + kp);
            g->col = col;
            g->w = w;
            g->end = col + kp;
            g->tab = tab;
            g->o = out + r * n;
            g->o_end = out + r * n + n;
            g->sum = sum[0];
            g->lo = p->act_min;
            g->hi = p->act_max;
            hil_v6m_g8(g);
#else
            hil_v6m_rows8(col, w, kp, tab, sum[0], out + r * n, n, p->act_min, p->act_max);
#endif
            continue;
        }
        int8_t *o0 = out + r * n, *o1 = o0 + n;
        /* other channel counts: 2x2 blocks, outputs one by one (small layers: FC heads, odd widths) */
        for (int32_t c = 0; c < n; c += 2) {
            /* with the split table the biases are its b words (the generator then emits no bias array) */
            const int32_t b0 = tab ? tab[HIL_V6M_RQ_WORDS * c + 1] : bias[c];
            const int32_t b1 = tab ? tab[HIL_V6M_RQ_WORDS * c + HIL_V6M_RQ_WORDS + 1] : bias[c + 1];
            int32_t s[4] = {b0 - sum[0], b1 - sum[0], b0 - sum[1], b1 - sum[1]};
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

#include "opt_v6m_dw.h"

#endif /* HIL_OPT_V6M_H */
