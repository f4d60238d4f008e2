/* The DSP cores' conv / FC matrix kernel with int8 weights in flash (prefer size, issue 18):
 * hil_opt_conv_dsp8. The generator (harness/codegen/optimized.py, _dsp_stream8) stores per pair of
 * output channels, per step of 4 inputs, one word of 4 int8 per channel in input order; SXTB16 /
 * SXTB16 ROR 8 unpack it into the (0,2), (1,3) pairs the input rows were widened into.
 *
 * Why blocks of HIL_MM8_ROWS rows: a weight word costs LDR + 2 SXTB16 however many rows use it,
 * so a block of 4 rows x 2 channels is, per 4 inputs, 4 LDRD (rows) + 1 LDRD + 4 SXTB16 (weights)
 * + 16 SMLAD = 25 instructions per 32 MACs (the 16-bit-weight kernel's 2 x 2 block: 12 per 16).
 * Bias, multiplier and shift loads are shared by the block's rows too. One row (FC with batch 1):
 * each weight is used once, 1 LDRD (row) + 1 LDRD + 4 SXTB16 + 4 SMLAD per 8 MACs.
 * Interior im2col rows copy each kernel row's k_w * in_c contiguous bytes at once.
 */
#ifndef HIL_OPT_DSP_MM8_H
#define HIL_OPT_DSP_MM8_H

#include "opt_dsp.h"

#if defined(__OPTIMIZE_SIZE__)
#define HIL_OPT_INLINED 0 /* -Os: one out-of-line copy (opt_common.h), loops stay rolled */
#else
#define HIL_OPT_INLINED 1
#endif
#ifndef HIL_MM8_ROWS
#define HIL_MM8_ROWS 3 /* rows per block: the generator sizes the scratch for it (optimized.py) */
#endif

/* At -O2 every layer is inlined into one function, and gcc keeps constants and addresses it
 * hoisted from earlier layers in registers across this kernel's loops, which then spill
 * accumulators (kws suite: 1.64 M instructions instead of 1.48 M). This fence clobbers the
 * registers a call would, so nothing from before the layer stays live in them: the effect of the
 * profile build's per-layer hook calls. */
#if HIL_SIMD_NATIVE && defined(__GNUC__)
#define HIL_MM8_FENCE() __asm__ volatile("" ::: "r0", "r1", "r2", "r3", "r12", "lr", "memory")
#else
#define HIL_MM8_FENCE() ((void)0)
#endif

/* Matrix row r, widened into dst (steps `step` words apart). Direct rows are the input's own; im2col
 * windows inside the input (dil_w == 1) take each kernel row's k_w * in_c contiguous bytes at once:
 * widened straight from the input when that length is a multiple of 4, else copied into tmp (one
 * memcpy a kernel row); border windows take the per-tap copy (opt_common.h). */
HIL_OPT_INL void hil_mm8_fill(const hil_opt_conv_t *p, const int8_t *in, int32_t r, int8_t *tmp, uint32_t *dst,
                              int32_t step)
{
    if (p->direct) {
        hil_opt_widen2_dsp(in + r * p->k, p->k, dst, step, p->rq30 == 2);
        return;
    }
    const int32_t ox = r % p->out_w, t = r / p->out_w, oy = t % p->out_h, b = t / p->out_h;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    const int32_t seg = p->k_w * p->in_c;
    if (p->dil_w != 1 || y0 < 0 || x0 < 0 || y0 + (p->k_h - 1) * p->dil_h >= p->in_h || x0 + p->k_w > p->in_w) {
        hil_opt_im2col(p, in, r, tmp);
        hil_opt_widen2_dsp(tmp, p->k, dst, step, p->rq30 == 2);
        return;
    }
    const int8_t *src = in + ((b * p->in_h + y0) * p->in_w + x0) * p->in_c;
    const int32_t down = p->dil_h * p->in_w * p->in_c;
    if ((seg & 3) == 0) {
        for (int32_t ky = 0; ky < p->k_h; ++ky, src += down, dst += seg / 4 * step) {
            hil_opt_widen2_dsp(src, seg, dst, step, p->rq30 == 2);
        }
        return;
    }
    int8_t *d = tmp;
    for (int32_t ky = 0; ky < p->k_h; ++ky, src += down, d += seg) {
        memcpy(d, src, (size_t)seg);
    }
    hil_opt_widen2_dsp(tmp, p->k, dst, step, p->rq30 == 2);
}

/* The stream's multipliers and shifts of channels c, c + 1 (q: past the pair's weights), as locals:
 * loaded once for all rows, and int8_t stores cannot force them to be reloaded. */
#define HIL_MM8_RQ(q, m0, m1, r0, r1)                                                              \
    uint32_t m0, m1, r0, r1;                                                                       \
    HIL_LDRD_PI(m0, m1, q);                                                                        \
    HIL_LDRD_PI(r0, r1, q)
#define HIL_MM8_OUT(acc, m, r, ls) \
    hil_opt_out(p, acc, 0, (const int32_t *)&(m), (const int32_t *)&(r), (ls))
/* With rq30 (opt_dsp.h): kk per channel (shared by the block's rows), 5 instructions an output */
#define HIL_MM8_OUT1(acc, m, r, ls) \
    (p->rq30 ? hil_mm8_out30(p, acc, m, r, hil_opt_rq30_k(p->out_off, r)) : HIL_MM8_OUT(acc, m, r, ls))
HIL_OPT_INL int8_t hil_mm8_out30(const hil_opt_conv_t *p, int32_t acc, uint32_t m, uint32_t r, int32_t kk)
{
    int32_t v = hil_opt_rq30(acc, (int32_t)m, (int32_t)r, kk, p->rq30 & 1);
    if (p->act_min != -128 || p->act_max != 127) {
        v = v < p->act_min ? p->act_min : v;
        v = v > p->act_max ? p->act_max : v;
    }
    return (int8_t)v;
}

/* One step of 4 inputs for the 3-row block: the channel pair's weight words (LDRD, 4 SXTB16), then
 * per row its 2 words (LDRD) and 4 SMLAD: 20 instructions per 24 MACs. One asm block on the cores:
 * 6 accumulators, 4 weight pairs, a row's 2 words and 2 pointers are the 14 registers there are,
 * and gcc, scheduling the loads itself, sometimes takes one more and spills an accumulator every
 * step (ResNet-8's 3x3 convolutions: 10-20 % more instructions). Depths up to 64 unroll whole in C
 * instead (no loop counter; gcc then starts the accumulators from the biases without copies). */
/* the step's text (also hil_mm8_pairs_asm's): operands a0-a2, b0-b2, q, pa, wa, wb, ya, yb, x0, x1 */
#define HIL_MM8_W8                                                                                 \
    "ldrd %[wa], %[wb], [%[q]], #8\n\t"                                                            \
    "sxtb16 %[ya], %[wa]\n\t"                                                                      \
    "sxtb16 %[yb], %[wb]\n\t"                                                                      \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                                                              \
    "sxtb16 %[wb], %[wb], ror #8\n\t"
/* hil_mm8_pairs_asm's weights: unpacked once into the scratch (unp: hil_mm8_unpack), or as above */
#define HIL_MM8_WU                                                                                 \
    ".if %c[unp]\n\t"                                                                              \
    "ldrd %[ya], %[yb], [%[q]], #8\n\t"                                                            \
    "ldrd %[wa], %[wb], [%[q]], #8\n\t"                                                            \
    ".else\n\t" HIL_MM8_W8 ".endif\n\t"
#define HIL_MM8_S() HIL_MM8_W8 HIL_MM8_X()
#define HIL_MM8_SU() HIL_MM8_WU HIL_MM8_X()
#define HIL_MM8_X()                                                                                \
    "ldrd %[x0], %[x1], [%[pa]], #8\n\t"                                                           \
    "smlad %[a0], %[x0], %[ya], %[a0]\n\t"                                                         \
    "smlad %[b0], %[x0], %[yb], %[b0]\n\t"                                                         \
    "smlad %[a0], %[x1], %[wa], %[a0]\n\t"                                                         \
    "smlad %[b0], %[x1], %[wb], %[b0]\n\t"                                                         \
    "ldrd %[x0], %[x1], [%[pa]], #8\n\t"                                                           \
    "smlad %[a1], %[x0], %[ya], %[a1]\n\t"                                                         \
    "smlad %[b1], %[x0], %[yb], %[b1]\n\t"                                                         \
    "smlad %[a1], %[x1], %[wa], %[a1]\n\t"                                                         \
    "smlad %[b1], %[x1], %[wb], %[b1]\n\t"                                                         \
    "ldrd %[x0], %[x1], [%[pa]], #8\n\t"                                                           \
    "smlad %[a2], %[x0], %[ya], %[a2]\n\t"                                                         \
    "smlad %[b2], %[x0], %[yb], %[b2]\n\t"                                                         \
    "smlad %[a2], %[x1], %[wa], %[a2]\n\t"                                                         \
    "smlad %[b2], %[x1], %[wb], %[b2]\n\t"
#if HIL_SIMD_NATIVE && defined(__GNUC__) && HIL_MM8_ROWS == 3
#define HIL_MM8_STEP(q, pa, a, b)                                                                  \
    do {                                                                                           \
        uint32_t wa_, wb_, ya_, yb_, x0_, x1_;                                                     \
        __asm__(HIL_MM8_S()                                                                        \
                : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [b0] "+r"(b[0]), [b1] "+r"(b[1]), \
                  [b2] "+r"(b[2]), [q] "+r"(q), [pa] "+r"(pa), [wa] "=&r"(wa_), [wb] "=&r"(wb_),    \
                  [ya] "=&r"(ya_), [yb] "=&r"(yb_), [x0] "=&r"(x0_), [x1] "=&r"(x1_)              \
                :                                                                                  \
                : "memory");                                                                       \
    } while (0)
#endif
#define HIL_MM8_STEP_C(q, pa, a, b)                                                                \
    do {                                                                                           \
        uint32_t wa_, wb_;                                                                         \
        HIL_LDRD_PI(wa_, wb_, q);                                                                  \
        const uint32_t ya0_ = hil_sxtb16(wa_), ya1_ = hil_sxtb16_ror8(wa_);                       \
        const uint32_t yb0_ = hil_sxtb16(wb_), yb1_ = hil_sxtb16_ror8(wb_);                       \
        HIL_OPT_UNROLL                                                                             \
        for (int32_t j_ = 0; j_ < HIL_MM8_ROWS; ++j_) {                                            \
            uint32_t x0_, x1_;                                                                     \
            HIL_LDRD_PI(x0_, x1_, pa);                                                             \
            a[j_] = hil_smlad(x0_, ya0_, a[j_]);                                                   \
            a[j_] = hil_smlad(x1_, ya1_, a[j_]);                                                   \
            b[j_] = hil_smlad(x0_, yb0_, b[j_]);                                                   \
            b[j_] = hil_smlad(x1_, yb1_, b[j_]);                                                   \
        }                                                                                          \
    } while (0)
#ifndef HIL_MM8_STEP
#define HIL_MM8_STEP HIL_MM8_STEP_C
#endif

/* All channel pairs of the 3-row block as one asm block (-O2 on the DSP cores, rq30 layers with the
 * full int8 clamp): gcc, left to place the 14 registers of the MAC steps, the output pointer, the
 * block's base and the loop bounds itself, spent 11-50 instructions a pair on spills and copies.
 * Here the first step starts the accumulators from the biases (no copies), the other kp / 4 - 1
 * steps are unrolled (8 a loop pass past 16 steps, the pass count on the stack), and the 6 outputs
 * take hil_opt_rq30's 4 (rq30 == 2) or 5 instructions + STRB at immediate offsets; o, its end and
 * col live on the stack (memory operands). q: the stream, advanced past the pairs.
 * c1: 1 + 2 * offset; dbl: rq30 == 2. */
#if HIL_SIMD_NATIVE && defined(__GNUC__) && defined(__OPTIMIZE__) && HIL_MM8_ROWS == 3 && HIL_OPT_INLINED
#define HIL_MM8_ASM_PAIR 1
#define HIL_MM8_Q(acc, m, r, off)                                                                  \
    ".if %c[dbl]\n\t"                                                                            \
    "smmlar %[x1], %[" acc "], %[" m "], %[x0]\n\t"                                                \
    ".else\n\t"                                                                                  \
    "lsl %[x1], %[" acc "], #1\n\t"                                                                \
    "smmlar %[x1], %[x1], %[" m "], %[x0]\n\t"                                                     \
    ".endif\n\t"                                                                                 \
    "add %[x1], %[x1], %[" acc "], asr #31\n\t"                                                    \
    "asr %[x1], %[x1], %[" r "]\n\t"                                                               \
    "ssat %[x1], #8, %[x1], asr #1\n\t"                                                            \
    "strb %[x1], [%[pa], #" off "]\n\t"
HIL_OPT_INL void hil_mm8_pairs_asm(const uint32_t **qp, int8_t *o, const uint32_t *col, int32_t pairs,
                                   int32_t n, int32_t kp, int32_t c1, int32_t dbl, int32_t unp)
{
    const uint32_t *q = *qp, *pa = col;
    int8_t *const oend = o + 2 * pairs;
    int32_t passes;
    uint32_t a0, a1, a2, b0, b1, b2, wa, wb, ya, yb, x0, x1;
    __asm__ volatile(
        "2:\n\t"
        /* step 0: rows 1 and 2 from the biases (in a0, b0), then row 0 in place */
        "ldrd %[a0], %[b0], [%[q]], #8\n\t"
        HIL_MM8_WU
        "ldrd %[x0], %[x1], [%[pa], #8]\n\t"
        "smlad %[a1], %[x0], %[ya], %[a0]\n\t"
        "smlad %[b1], %[x0], %[yb], %[b0]\n\t"
        "smlad %[a1], %[x1], %[wa], %[a1]\n\t"
        "smlad %[b1], %[x1], %[wb], %[b1]\n\t"
        "ldrd %[x0], %[x1], [%[pa], #16]\n\t"
        "smlad %[a2], %[x0], %[ya], %[a0]\n\t"
        "smlad %[b2], %[x0], %[yb], %[b0]\n\t"
        "smlad %[a2], %[x1], %[wa], %[a2]\n\t"
        "smlad %[b2], %[x1], %[wb], %[b2]\n\t"
        "ldrd %[x0], %[x1], [%[pa]], #24\n\t"
        "smlad %[a0], %[x0], %[ya], %[a0]\n\t"
        "smlad %[b0], %[x0], %[yb], %[b0]\n\t"
        "smlad %[a0], %[x1], %[wa], %[a0]\n\t"
        "smlad %[b0], %[x1], %[wb], %[b0]\n\t"
        ".rept %c[rem]\n\t" HIL_MM8_SU() ".endr\n\t"
        ".if %c[passes]\n\t"
        "mov %[x0], #%c[passes]\n\t"
        "str %[x0], %[cnt]\n"
        "1:\n\t"
        ".rept 8\n\t" HIL_MM8_SU() ".endr\n\t"
        "ldr %[x0], %[cnt]\n\t"
        "subs %[x0], %[x0], #1\n\t"
        "str %[x0], %[cnt]\n\t"
        "bne 1b\n\t"
        ".endif\n\t"
        /* requantization: multipliers in ya, yb, shifts - 1 in wa, wb, kk in x0, o in pa */
        "ldrd %[ya], %[yb], [%[q]], #8\n\t"
        "ldrd %[wa], %[wb], [%[q]], #8\n\t"
        "ldr %[pa], %[o]\n\t"
        ".if %c[unp]\n\t" /* the unpacked stream holds the pair's kk after its shifts */
        "ldr %[x0], [%[q]], #4\n\t"
        ".elseif %c[c1] < 0\n\t"
        "mvn %[x0], #(-(%c[c1]) - 1)\n\t"
        "lsl %[x0], %[x0], %[wa]\n\t"
        ".else\n\t"
        "mov %[x0], #%c[c1]\n\t"
        "lsl %[x0], %[x0], %[wa]\n\t"
        ".endif\n\t"
        HIL_MM8_Q("a0", "ya", "wa", "0") HIL_MM8_Q("a1", "ya", "wa", "%c[n1]") HIL_MM8_Q("a2", "ya", "wa", "%c[n2]")
        ".if %c[unp]\n\t"
        "ldr %[x0], [%[q]], #4\n\t"
        ".else\n\t"
        "asr %[x0], %[x0], %[wa]\n\t"
        "lsl %[x0], %[x0], %[wb]\n\t"
        ".endif\n\t"
        HIL_MM8_Q("b0", "yb", "wb", "1") HIL_MM8_Q("b1", "yb", "wb", "%c[n1p]") HIL_MM8_Q("b2", "yb", "wb", "%c[n2p]")
        "add %[pa], %[pa], #2\n\t"
        "str %[pa], %[o]\n\t"
        "ldr %[x0], %[oend]\n\t" /* the last pair's o + 2: a compare, no counter to store */
        "cmp %[pa], %[x0]\n\t"
        "ldr %[pa], %[col]\n\t"
        "bne 2b"
        : [q] "+r"(q), [pa] "+r"(pa), [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [b0] "=&r"(b0),
          [b1] "=&r"(b1), [b2] "=&r"(b2), [wa] "=&r"(wa), [wb] "=&r"(wb), [ya] "=&r"(ya), [yb] "=&r"(yb),
          [x0] "=&r"(x0), [x1] "=&r"(x1), [o] "+m"(o), [cnt] "=m"(passes)
        : [col] "m"(col), [oend] "m"(oend), [rem] "i"(kp <= 64 ? kp / 4 - 1 : (kp / 4 - 1) % 8),
          [passes] "i"(kp <= 64 ? 0 : (kp / 4 - 1) / 8), [n1] "i"(n), [n2] "i"(2 * n), [n1p] "i"(n + 1),
          [n2p] "i"(2 * n + 1), [c1] "i"(c1), [dbl] "i"(dbl), [unp] "i"(unp)
        : "cc", "memory");
    *qp = q;
}
#endif

/* One block: the HIL_MM8_ROWS rows in col (interleaved by hil_opt_widen_dsp) times all channels; row
 * j's outputs at o + j * out_c. q: the layer's stream (per channel pair 2 biases, kp / 2 weight
 * words, 2 multipliers, 2 shifts). */
HIL_OPT_INL void hil_mm8_block(const hil_opt_conv_t *p, const uint32_t *col, const uint32_t *q, const int32_t *lsh,
                               int8_t *o, int32_t unp, int32_t nc)
{
    const int32_t kp = p->kp, n = p->out_c;
    int32_t c = 0;
    /* unp: q's weights unpacked (hil_mm8_unpack) for nc channels (even) from o on; only with the pair asm */
    (void)unp;
    (void)nc;
#if defined(HIL_MM8_ASM_PAIR)
    if (__builtin_constant_p(kp) && __builtin_constant_p(n) && __builtin_constant_p(p->out_off) &&
        __builtin_constant_p(p->rq30) && p->rq30 &&
        p->act_min == -128 && p->act_max == 127 && n >= 2 && 2 * n + 1 <= 4095) {
        c = n & ~1; /* an odd last channel: the C path below */
        hil_mm8_pairs_asm(&q, o, col, (unp ? nc : n) / 2, n, kp, 1 + 2 * p->out_off, p->rq30 == 2, unp);
        o += c;
    }
#endif
    for (; c < n; c += 2, o += 2) {
        const uint32_t *pa = col;
        uint32_t ba, bb;
        HIL_LDRD_PI(ba, bb, q);
        int32_t a[HIL_MM8_ROWS], b[HIL_MM8_ROWS];
        HIL_OPT_UNROLL
        for (int32_t j = 0; j < HIL_MM8_ROWS; ++j) {
            a[j] = (int32_t)ba;
            b[j] = (int32_t)bb;
        }
        if (kp <= 64 && HIL_OPT_INLINED) { /* unrolled whole (-O2): gcc's own schedule, no loop counter */
            HIL_OPT_UNROLL_K
            for (int32_t i = 0; i < kp; i += 4) {
                HIL_MM8_STEP_C(q, pa, a, b);
            }
        } else {
            HIL_OPT_UNROLL_K
            for (int32_t i = 0; i < kp; i += 4) {
                HIL_MM8_STEP(q, pa, a, b);
            }
        }
        HIL_MM8_RQ(q, m0, m1, r0, r1);
        if (p->rq30) {
            const int32_t k0 = hil_opt_rq30_k(p->out_off, r0), k1 = hil_opt_rq30_k(p->out_off, r1);
            HIL_OPT_UNROLL
            for (int32_t j = 0; j < HIL_MM8_ROWS; ++j) {
                o[j * n] = hil_mm8_out30(p, a[j], m0, r0, k0);
            }
            if (c + 1 < n) {
                HIL_OPT_UNROLL
                for (int32_t j = 0; j < HIL_MM8_ROWS; ++j) {
                    o[j * n + 1] = hil_mm8_out30(p, b[j], m1, r1, k1);
                }
            }
            continue;
        }
        const int32_t *ls = p->has_lshift ? lsh + c : lsh;
        HIL_OPT_UNROLL
        for (int32_t j = 0; j < HIL_MM8_ROWS; ++j) {
            o[j * n] = HIL_MM8_OUT(a[j], m0, r0, ls);
        }
        if (c + 1 < n) {
            HIL_OPT_UNROLL
            for (int32_t j = 0; j < HIL_MM8_ROWS; ++j) {
                o[j * n + 1] = HIL_MM8_OUT(b[j], m1, r1, ls + 1);
            }
        }
    }
}

/* One row (FC with batch 1), widened with steps 2 words apart: each weight word is used once, so
 * two channel pairs share each row load: per 16 MACs 1 + 2 LDRD, 8 SXTB16, 8 SMLAD. */
#define HIL_MM8_PAIR(x0, x1, pw, s0, s1)                                                          \
    do {                                                                                           \
        uint32_t wa_, wb_;                                                                         \
        HIL_LDRD_PI(wa_, wb_, pw);                                                                 \
        s0 = hil_smlad(x0, hil_sxtb16(wa_), s0);                                                   \
        s0 = hil_smlad(x1, hil_sxtb16_ror8(wa_), s0);                                              \
        s1 = hil_smlad(x0, hil_sxtb16(wb_), s1);                                                   \
        s1 = hil_smlad(x1, hil_sxtb16_ror8(wb_), s1);                                              \
    } while (0)

HIL_OPT_INL void hil_mm8_row(const hil_opt_conv_t *p, const uint32_t *col, const uint32_t *q, const int32_t *lsh,
                             int8_t *o)
{
    const int32_t kp = p->kp, n = p->out_c, pair = kp / 2 + 6; /* a channel pair's stream words */
    int32_t c = 0;
    for (; c + 4 <= n; c += 4, q += pair) { /* two pairs: q, then q1 */
        const uint32_t *pa = col, *q1 = q + pair;
        uint32_t a, b, d, e;
        HIL_LDRD_PI(a, b, q);
        HIL_LDRD_PI(d, e, q1);
        HIL_OPT_UNROLL
        for (int32_t i = 0; i < kp; i += 4) {
            uint32_t x0, x1;
            HIL_LDRD_PI(x0, x1, pa);
            HIL_MM8_PAIR(x0, x1, q, a, b);
            HIL_MM8_PAIR(x0, x1, q1, d, e);
        }
        const int32_t *ls = p->has_lshift ? lsh + c : lsh;
        HIL_MM8_RQ(q, m0, m1, r0, r1);
        HIL_MM8_RQ(q1, m2, m3, r2, r3);
        o[c] = HIL_MM8_OUT1(a, m0, r0, ls);
        o[c + 1] = HIL_MM8_OUT1(b, m1, r1, ls + 1);
        o[c + 2] = HIL_MM8_OUT1(d, m2, r2, ls + 2);
        o[c + 3] = HIL_MM8_OUT1(e, m3, r3, ls + 3);
    }
    for (; c < n; c += 2) { /* the last one or two pairs (an odd last channel is paired with zeros) */
        const uint32_t *pa = col;
        uint32_t a, b;
        HIL_LDRD_PI(a, b, q);
        for (int32_t i = 0; i < kp; i += 4) {
            uint32_t x0, x1;
            HIL_LDRD_PI(x0, x1, pa);
            HIL_MM8_PAIR(x0, x1, q, a, b);
        }
        const int32_t *ls = p->has_lshift ? lsh + c : lsh;
        HIL_MM8_RQ(q, m0, m1, r0, r1);
        o[c] = HIL_MM8_OUT1(a, m0, r0, ls);
        if (c + 1 < n) {
            o[c + 1] = HIL_MM8_OUT1(b, m1, r1, ls + 1);
        }
    }
}

/* 1x1 convolutions / FC batches with at most 8 inputs a row (prefer size, -O2; VWW's 8 -> 16 layer):
 * hil_mm8_narrow. With kp <= 8 a channel's whole weight row is 2 words, 4 registers once unpacked,
 * so one channel at a time runs over a chunk of wide_scratch widened rows with its weights, bias
 * and requantization constants in registers: per output 2 LDRD, 4 SMLAD (the first from the bias),
 * hil_opt_rq30's 4-5 instructions and a post-incremented STRB, 4 rows a loop pass (0.5 for the
 * loop). The 3-row block paid per 6 outputs a weight unpack (10), its bias and constant loads and
 * its pair loop (16): 16 instructions an output on VWW's layer 2 against ~13 here. Needs direct
 * rows, rq30, the full int8 clamp and wide_scratch (the generator sizes the scratch: optimized.py,
 * _mm8_narrow_rows). */
#if HIL_SIMD_NATIVE && defined(__GNUC__)
/* one row: 2 LDRD, 4 SMLAD (kp 8; 1 LDRD, 2 SMLAD for kp 4), requantization, STRB at o, o += n */
#define HIL_MM8_NROW                                                                               \
    "ldrd %[x0], %[x1], [%[pa]], #8\n\t"                                                           \
    "smlad %[ac], %[x0], %[w0], %[bi]\n\t"                                                         \
    "smlad %[ac], %[x1], %[w1], %[ac]\n\t"                                                         \
    ".if %c[kp] > 4\n\t"                                                                           \
    "ldrd %[x0], %[x1], [%[pa]], #8\n\t"                                                           \
    "smlad %[ac], %[x0], %[w2], %[ac]\n\t"                                                         \
    "smlad %[ac], %[x1], %[w3], %[ac]\n\t"                                                         \
    ".endif\n\t"                                                                                   \
    ".if %c[dbl]\n\t"                                                                              \
    "smmlar %[x0], %[ac], %[m], %[kk]\n\t"                                                         \
    ".else\n\t"                                                                                    \
    "lsl %[x0], %[ac], #1\n\t"                                                                     \
    "smmlar %[x0], %[x0], %[m], %[kk]\n\t"                                                         \
    ".endif\n\t"                                                                                   \
    "add %[x0], %[x0], %[ac], asr #31\n\t"                                                         \
    "asr %[x0], %[x0], %[r]\n\t"                                                                   \
    "ssat %[x0], #8, %[x0], asr #1\n\t"                                                            \
    "strb %[x0], [%[o]], #%c[n]\n\t"
#endif

/* hil_mm8_nchan's rows as one asm block: nr / 4 passes of 4 rows, then nr % 4 single rows (two
 * asm blocks, or a C loop for the last rows, made gcc find the register operands "impossible" in
 * some layers). The counts sit in the shift register above its bits 0-7 (all ASR reads): passes
 * - 1 from bit 12 (SUBS / BCS), the single rows in bits 8-11. The empty asm hides the operands'
 * values (gcc folds them to constants: one layer's stream, a constant index). */
#define HIL_MM8_NLOOP()                                                                            \
    do {                                                                                           \
        uint32_t x0_, x1_, ac_, rc_ = r + ((uint32_t)(nr & 3) << 8) + ((uint32_t)(nr / 4) << 12); \
        uint32_t w0_ = w0, w1_ = w1, w2_ = w2, w3_ = w3, bi_ = bi, m_ = m, kk_ = (uint32_t)kk;    \
        __asm__("" : "+r"(w0_), "+r"(w1_), "+r"(w2_), "+r"(w3_));                                 \
        __asm__("" : "+r"(bi_), "+r"(m_), "+r"(kk_), "+r"(rc_));                                  \
        __asm__ volatile("cmp %[r], #4096\n\t"                                                     \
                         "blo 3f\n\t"                                                              \
                         "sub %[r], %[r], #4096\n"                                                 \
                         "1:\n\t"                                                                  \
                         ".rept 4\n\t" HIL_MM8_NROW ".endr\n\t"                                    \
                         "subs %[r], %[r], #4096\n\t"                                              \
                         "bcs 1b\n"                                                                \
                         "3:\n\t"                                                                  \
                         "tst %[r], #0xf00\n\t"                                                    \
                         "beq 4f\n"                                                                \
                         "2:\n\t" HIL_MM8_NROW                                                     \
                         "sub %[r], %[r], #256\n\t"                                                \
                         "tst %[r], #0xf00\n\t"                                                    \
                         "bne 2b\n"                                                                \
                         "4:"                                                                      \
                         : [pa] "+r"(pa), [o] "+r"(o), [x0] "=&r"(x0_), [x1] "=&r"(x1_), [ac] "=&r"(ac_), \
                           [r] "+r"(rc_)                                                           \
                         : [w0] "r"(w0_), [w1] "r"(w1_), [w2] "r"(w2_), [w3] "r"(w3_), [bi] "r"(bi_),    \
                           [m] "r"(m_), [kk] "r"(kk_), [kp] "i"(kp), [n] "i"(n), [dbl] "i"(p->rq30 == 2) \
                         : "cc", "memory");                                                        \
    } while (0)

/* One channel over nr widened rows at col (kp / 2 words a row): outputs at o, n bytes apart. s: the
 * channel's words in the stream (bias, then a weight word every 2 words, multiplier, rs - 1). */
HIL_OPT_INL void hil_mm8_nchan(const hil_opt_conv_t *p, const uint32_t *s, const uint32_t *col, int32_t nr, int8_t *o)
{
    const int32_t kp = p->kp, n = p->out_c;
    /* kp 4: w2, w3 unused (w0 again: no registers of their own for the asm) */
    const uint32_t bi = s[0], v0 = s[2], v1 = kp > 4 ? s[4] : v0;
    const uint32_t w0 = hil_sxtb16(v0), w1 = hil_sxtb16_ror8(v0);
    const uint32_t w2 = kp > 4 ? hil_sxtb16(v1) : w0, w3 = kp > 4 ? hil_sxtb16_ror8(v1) : w0;
    const uint32_t m = s[2 + kp / 2], r = s[4 + kp / 2];
    const int32_t kk = hil_opt_rq30_k(p->out_off, r);
    const uint32_t *pa = col;
    int32_t j = 0;
#if HIL_SIMD_NATIVE && defined(__GNUC__)
    if (__builtin_constant_p(kp) && __builtin_constant_p(n) && __builtin_constant_p(p->rq30)) {
        HIL_MM8_NLOOP();
        return;
    }
#endif
    for (; j < nr; ++j, o += n) {
        uint32_t x0, x1;
        HIL_LDRD_PI(x0, x1, pa);
        int32_t acc = hil_smlad(x1, w1, hil_smlad(x0, w0, (int32_t)bi));
        if (kp > 4) {
            HIL_LDRD_PI(x0, x1, pa);
            acc = hil_smlad(x1, w3, hil_smlad(x0, w2, acc));
        }
        *o = (int8_t)hil_opt_rq30(acc, (int32_t)m, (int32_t)r, kk, p->rq30 & 1);
    }
}

/* The layer in chunks of p->wide_scratch rows (the generator's choice: optimized.py,
 * _mm8_narrow_rows; per chunk and channel ~30 instructions of set-up): each chunk widened once (doubled for rq30 == 2), then
 * every channel over it. Rows are widened before any output of the chunk is stored: in place
 * when out_c <= k, as the block path. Out of line: inlined into the model's one function, gcc
 * found the asm's 13 register operands "impossible" in some models (other values it kept live
 * there); the layer's geometry still reaches it as constants through gcc's IPA constant
 * propagation when there is one such layer (else the C rows: bit-exact, slower). */
static __attribute__((noinline, unused)) void hil_mm8_narrow(const hil_opt_conv_t *params, const int8_t *in,
                                                            const uint32_t *q, uint32_t *col, int8_t *out)
{
    const hil_opt_conv_t pcopy = *params; /* stores through int8_t cannot alias a local copy */
    const hil_opt_conv_t *p = &pcopy;
    const int32_t kp = p->kp, k = p->k, n = p->out_c, pair = kp / 2 + 6; /* a channel pair's stream words */
    const int32_t chunk = p->wide_scratch;
    for (int32_t r = 0; r < p->rows; r += chunk) {
        const int32_t nr = p->rows - r < chunk ? p->rows - r : chunk;
        if (k == kp) { /* the chunk's rows are contiguous whole words: 8 bytes a pass */
            const int8_t *src = in + r * k;
            uint32_t *dst = col;
            const int32_t dbl = p->rq30 == 2;
            int32_t i = 0;
            for (; i + 8 <= nr * k; i += 8, dst += 4) {
                const uint32_t a = hil_load32(src + i), b = hil_load32(src + i + 4);
                const uint32_t a0 = hil_sxtb16(a), a1 = hil_sxtb16_ror8(a), b0 = hil_sxtb16(b), b1 = hil_sxtb16_ror8(b);
                dst[0] = dbl ? hil_sxtab16(a0, a) : a0;
                dst[1] = dbl ? hil_sxtab16_ror8(a1, a) : a1;
                dst[2] = dbl ? hil_sxtab16(b0, b) : b0;
                dst[3] = dbl ? hil_sxtab16_ror8(b1, b) : b1;
            }
            hil_opt_widen2_dsp(src + i, nr * k - i, dst, 2, dbl);
        } else {
            for (int32_t j = 0; j < nr; ++j) {
                hil_opt_widen2_dsp(in + (r + j) * k, k, col + j * (kp / 2), 2, p->rq30 == 2);
            }
        }
        for (int32_t c = 0; c < n; ++c) {
            hil_mm8_nchan(p, q + (c / 2) * pair + (c & 1), col, nr, out + r * n + c);
        }
    }
}

/* Layers of >= 24 rows and kp <= 64 (VWW's 1x1 layers at 24x24 and 12x12): the weights unpacked to
 * 16-bit pairs into the scratch after the widened rows (hil_mm8_unpack), a step of the pair asm then
 * loads them with 2 LDRD instead of LDRD + 4 SXTB16: 3 instructions less per 24 MACs, against ~6 a
 * packed word pair once. When they do not all fit, a group of channel pairs at a time, each a pass
 * over the rows (widened again). The generator reserves the words (optimized.py,
 * _mm8_unpacked_words: the same arithmetic, HIL_MM8_SCRATCH_WORDS its limit; wide_scratch). */
#define HIL_MM8_SCRATCH_WORDS 1024 /* SCRATCH_LIMIT / 4 */
/* Channel pairs a group may unpack (the words left after base), the groups (each a pass over all
 * rows: their widening is repeated, so with several groups a group needs >= 8 pairs and the layer
 * >= 96 rows: VWW's 6x6 layers lost 10 K instructions) and the channels a group */
#define HIL_MM8_GMAX(p, base) ((HIL_MM8_SCRATCH_WORDS - (base)) / ((p)->kp + 8))
#define HIL_MM8_GROUPS(p, base) (((p)->out_c / 2 + HIL_MM8_GMAX(p, base) - 1) / HIL_MM8_GMAX(p, base))
#define HIL_MM8_GCH(p, base) (2 * (((p)->out_c / 2 + HIL_MM8_GROUPS(p, base) - 1) / HIL_MM8_GROUPS(p, base)))
#define HIL_MM8_UNP(p, base)                                                                       \
    ((p)->wide_scratch && (p)->rq30 && (p)->act_min == -128 && (p)->act_max == 127 && (p)->out_c % 2 == 0 && (p)->kp <= 64 && \
     HIL_MM8_GMAX(p, base) > 0 &&                                                                 \
     ((p)->out_c / 2 <= HIL_MM8_GMAX(p, base) ? (p)->rows >= 24 : HIL_MM8_GMAX(p, base) >= 8 && (p)->rows >= 96))
/* the stream q with each channel pair's weight words (wa, wb) as (SXTB16 wa, SXTB16 wb, ROR 8 wa,
 * ROR 8 wb): hil_mm8_pairs_asm's order of ya, yb, wa, wb; after the pair's shifts its two kk
 * (hil_opt_rq30_k: 2 instructions less a pair in the asm): kp + 8 words a pair */
HIL_OPT_INL void hil_mm8_unpack(const hil_opt_conv_t *p, const uint32_t *q, int32_t nc, uint32_t *u)
{
    for (int32_t c = 0; c < nc; c += 2, q += 4, u += 4) {
        u[0] = q[0];
        u[1] = q[1];
        q += 2;
        u += 2;
        for (int32_t i = 0; i < p->kp; i += 4, q += 2, u += 4) {
            const uint32_t wa = q[0], wb = q[1];
            u[0] = hil_sxtb16(wa);
            u[1] = hil_sxtb16(wb);
            u[2] = hil_sxtb16_ror8(wa);
            u[3] = hil_sxtb16_ror8(wb);
        }
        u[0] = q[0];
        u[1] = q[1];
        u[2] = q[2];
        u[3] = q[3];
        u[4] = (uint32_t)hil_opt_rq30_k(p->out_off, q[2]); /* the pair's kk (q[2], q[3]: rs - 1) */
        u[5] = (uint32_t)hil_opt_rq30_k(p->out_off, q[3]);
        u += 2;
    }
}

/* Conv / FC with int8 weights, HIL_MM8_ROWS rows a block. A last partial block computes its
 * missing rows from whatever the scratch holds and stores through the staging buffer (its valid
 * rows only). Every row of a block is widened before any of its outputs is stored, so a direct
 * layer whose output rows are no wider than its input rows may run in place.
 * q: the generator's stream (optimized.py, _dsp_stream8); lsh: left shifts, read only when some
 * channel has one (has_lshift), padded to an even count.
 * scratch: max(kp, HIL_MM8_ROWS * out_c) bytes (im2col row, staging), then HIL_MM8_ROWS * kp / 2
 * words (the widened rows); one row: kp bytes, then kp / 2 words. */
HIL_OPT_FN void hil_opt_conv_dsp8(const hil_opt_conv_t *params, const int8_t *in, const uint32_t *q,
                                  const int32_t *lsh, int32_t *scratch, int8_t *out)
{
    HIL_MM8_FENCE();
    /* a local copy: stores through int8_t pointers cannot alias it, so fields stay in registers */
    const hil_opt_conv_t pcopy = *params;
    const hil_opt_conv_t *p = &pcopy;
    const int32_t stage = HIL_MM8_ROWS * p->out_c > p->kp ? HIL_MM8_ROWS * p->out_c : p->kp;
    int8_t *tmp = (int8_t *)scratch;
    uint32_t *col = (uint32_t *)scratch + (stage + 3) / 4;
#if HIL_OPT_INLINED
    if (p->wide_scratch && p->direct && p->kp <= 8 && p->rq30 && p->act_min == -128 && p->act_max == 127 &&
        p->out_c <= 255 && p->rows > 1) {
        hil_mm8_narrow(params, in, q, (uint32_t *)scratch, out);
        return;
    }
#endif
    if (p->rows == 1) {
        col = (uint32_t *)scratch + p->kp / 4;
        hil_mm8_fill(p, in, 0, tmp, col, 2);
        hil_mm8_row(p, col, q, lsh, out);
        return;
    }
    int32_t unp = 0, gc = p->out_c; /* channels a pass over the rows */
    uint32_t *u = col + HIL_MM8_ROWS * p->kp / 2;
#if defined(HIL_MM8_ASM_PAIR)
    const int32_t base = (stage + 3) / 4 + HIL_MM8_ROWS * p->kp / 2; /* words before u */
    /* the pair asm's conditions (hil_mm8_block) and the scratch's */
    if (__builtin_constant_p(p->kp) && __builtin_constant_p(p->out_c) && __builtin_constant_p(p->out_off) &&
        __builtin_constant_p(p->rq30) && 2 * p->out_c + 1 <= 4095 && HIL_MM8_UNP(p, base)) {
        unp = 1;
        gc = HIL_MM8_GCH(p, base);
    }
#endif
    for (int32_t g0 = 0; g0 < p->out_c; g0 += gc) {
        const int32_t nc = p->out_c - g0 < gc ? p->out_c - g0 : gc;
        const uint32_t *qg = q;
        if (unp) {
            hil_mm8_unpack(p, q + g0 / 2 * (p->kp / 2 + 6), nc, u);
            qg = u;
        }
        for (int32_t r = 0; r < p->rows; r += HIL_MM8_ROWS) {
            const int32_t nr = p->rows - r < HIL_MM8_ROWS ? p->rows - r : HIL_MM8_ROWS;
            for (int32_t j = 0; j < nr; ++j) {
                hil_mm8_fill(p, in, r + j, tmp, col + 2 * j, 2 * HIL_MM8_ROWS);
            }
            int8_t *o = (nr == HIL_MM8_ROWS ? out + r * p->out_c : tmp) + g0;
            hil_mm8_block(p, col, qg, lsh, o, unp, nc);
            for (int32_t j = 0; j < nr && nr < HIL_MM8_ROWS; ++j) { /* the group's part of the staged rows */
                memcpy(out + (r + j) * p->out_c + g0, tmp + j * p->out_c + g0, (size_t)nc);
            }
        }
    }
}

#endif /* HIL_OPT_DSP_MM8_H */
