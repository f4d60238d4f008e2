/* Optimized int8 kernels for Cortex-M0/M0+ (ARMv6-M: no DSP extension, no 32x32->64 multiply,
 * 8 low registers), chosen at generation time (harness/codegen/optimized.py); shared parts in
 * opt_common.h.
 *
 * - Conv / FC (hil_opt_conv_v6m): rows widened to int32 once (opt_v6m_rows.h); 8-channel
 *   (hil_v6m_g8) or 2x2 MULS blocks.
 * - Depthwise (hil_opt_dw_v6m, in opt_v6m_dw.h): 3x3 over per-channel input planes
 *   (hil_v6m_dw_plane), else 9-tap channel pairs or the shared per-channel loop.
 * - The generator's split-multiplier table requantizes with 3 or 4 MULS where the accumulator
 *   bound allows it (hil_v6m_rq, opt_v6m_rq.h).
 * Hand-written functions read their argument blocks at literal offsets: each offset has a
 * _Static_assert beside the struct.
 */
#ifndef HIL_OPT_V6M_H
#define HIL_OPT_V6M_H
#ifndef HIL_OPT_V6M
#define HIL_OPT_V6M 1 /* the family marker (tests and docs test it) */
#endif

#include "opt_common.h"

#include "opt_v6m_rq.h"   /* the split requantization (HIL_V6M_AT, hil_v6m_rq, hil_v6m_rqs) */
#include "opt_v6m_rows.h" /* a matrix row into int32: the asm copy, im2col */

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
