/* Cortex-M0/M0+ (ARMv6-M) depthwise kernels: hil_opt_dw_v6m and its helpers (3x3 channel-plane
 * path with the split requantization, 9-tap general path). Included by opt_v6m.h after the
 * matrix kernels, whose widening, requantization and argument helpers it uses. */
#ifndef HIL_OPT_V6M_DW_H
#define HIL_OPT_V6M_DW_H

/* Depthwise helpers */
/* 3x3 depthwise, channels c and c+1 of one output pixel: tp = the 9 taps' input rows, w = the 9
 * taps of channel c then of channel c+1, as int8. v6-M: LDRSH reads both channels' inputs, SXTB /
 * ASRS split them, LDRB + SXTB each weight: 12 instructions per 2 MACs. */
HIL_OPT_INL void hil_opt_dw9_v6m(const int8_t *const *tp, int32_t c, const int8_t *w, int32_t *a0, int32_t *a1)
{
#if defined(HIL_OPT_V6M_ASM)
    int32_t s0 = *a0, s1 = *a1;
    uint32_t v, x1, w0, w1;
#define HIL_DW9_TAP(t, wo)                                                                         \
    "ldr %[v], [%[tab], #" #t "*4]\n\t"                                                            \
    "ldrsh %[v], [%[v], %[c]]\n\t"                                                                 \
    "asrs %[x1], %[v], #8\n\t"                                                                     \
    "sxtb %[v], %[v]\n\t"                                                                          \
    "ldrb %[w0], [%[pw], #" #wo "]\n\t"                                                            \
    "ldrb %[w1], [%[pw], #" #wo "+9]\n\t"                                                          \
    "sxtb %[w0], %[w0]\n\t"                                                                        \
    "sxtb %[w1], %[w1]\n\t"                                                                        \
    "muls %[w0], %[v], %[w0]\n\t"                                                                  \
    "add %[s0], %[w0]\n\t"                                                                         \
    "muls %[w1], %[x1], %[w1]\n\t"                                                                 \
    "add %[s1], %[w1]\n\t"
    __asm__(".syntax unified\n\t"
            HIL_DW9_TAP(0, 0) HIL_DW9_TAP(1, 1) HIL_DW9_TAP(2, 2) HIL_DW9_TAP(3, 3) HIL_DW9_TAP(4, 4)
            HIL_DW9_TAP(5, 5) HIL_DW9_TAP(6, 6) HIL_DW9_TAP(7, 7) HIL_DW9_TAP(8, 8)
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
 * written, so `out` may overlap `in` (in-place). w: the channel's 9 taps as int32 (hil_v6m_dw_plane
 * widens them from the int8 constants into the scratch once per channel). */
#define HIL_V6M_DWS 14 /* taps at offsets <= 2 * 14 + 3 = 31, LDRB's immediate range */
#define HIL_V6M_DWC_WORDS 11 /* hil_v6m_dwc_t (-O2), after the plane in the scratch; then 9 widened taps */
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
_Static_assert(sizeof(hil_v6m_dwc_t) == 4 * HIL_V6M_DWC_WORDS, "optimized.py reserves V6M_DWC_WORDS words for it");

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
    HIL_V6M_RQ_SEQ("r2", "r3", #X, "r6")                                                           \
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
        "bne 1f\n\t" /* conditional branches reach 256 bytes: the pair loop is longer */
        "b 5f\n"
        "1:\n\t"                                 /* two outputs */
        "ldr r4, [r6, #4]\n\t"
        "movs r5, r4\n\t"
        HIL_DWC_ROW(0, 0) HIL_DWC_ROW(14, 12) HIL_DWC_ROW(28, 24)
        HIL_DWC_RQ(r4) HIL_DWC_RQ(r5)
        "adds r0, #2\n\t"
        "cmp r0, r11\n\t"
        "beq 5f\n\t"
        "b 1b\n"
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

HIL_OPT_FN void hil_v6m_dw_plane(const hil_opt_conv_t *p, const int8_t *in, const int8_t *w9, const int32_t *tab,
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
            /* the channel's 9 taps widened once (LDR with immediate offsets in the loops): after the
             * plane and the asm arguments in the scratch (the generator adds V6M_DWC_WORDS + 9) */
            int32_t *wc = (int32_t *)(void *)(plane + HIL_V6M_DWS * ((oh + 5) & ~3)) + HIL_V6M_DWC_WORDS;
            for (int32_t t = 0; t < 9; ++t) {
                wc[t] = w9[9 * c + t];
            }
            const int32_t *tc = tab + HIL_V6M_RQ_WORDS * c;
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

/* Depthwise, depth multiplier 1. w8: the 1HWC filter as is; w16 (9 taps): instead per channel its
 * 9 taps as int8 (LDRB with immediate offsets + SXTB). 3x3 stride-1 layers with a split table go
 * through per-channel planes (hil_v6m_dw_plane, the whole layer at once); other 9-tap layers with
 * an even channel count by channel pairs; the rest channel by channel (opt_common.h). With the
 * split table, the first two paths start from its b words: the generator then emits no bias_eff
 * and (9 taps) no 1HWC filter. */
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
                    hil_v6m_dw_plane(p, in, (const int8_t *)(const void *)w16, tab, (uint8_t *)(void *)scratch, out);
                    return;
                }
                if (taps == 9 && (C & 1) == 0 && w16) {
                    const int8_t *wq = (const int8_t *)(const void *)w16; /* v6-M: 9 int8 per channel */
                    for (int32_t c = 0; c < C; c += 2, wq += 18) {
                        int32_t a0 = tab ? tab[HIL_V6M_RQ_WORDS * c + 1] : bias[c];
                        int32_t a1 = tab ? tab[HIL_V6M_RQ_WORDS * c + HIL_V6M_RQ_WORDS + 1] : bias[c + 1];
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

#endif /* HIL_OPT_V6M_DW_H */
