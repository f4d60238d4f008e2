/* The DSP cores' first-layer convolution (1-3 input channels, issue 18): hil_opt_first_dsp.
 *
 * Why: with 3 input channels a window row is 9 values, so the matrix kernel's SMLAD pairs along
 * the channels (opt_dsp_mm8.h) pay an im2col copy per pixel (one memcpy a kernel row) and a
 * widening per pixel. Here each input row is widened once into int16 in its natural order
 * (zero-point padded at the borders) into a ring: a pixel's window row is then
 * nw = ceil(k_w * in_c / 2) consecutive words at a fixed offset from its pixel's start, and one word
 * is an SMLAD operand of two adjacent taps (across channels and columns; an odd last tap pairs with
 * a zero weight). Window starts at odd elements are read with unaligned LDRs (the M4/M7/M33 allow
 * them for LDR), so no shifted copy is needed at stride 1.
 * Weights: int8 in flash (the generator's packing.py, dsp_first_stream), per 4 output channels
 * and per tap pair two words (a0, b0, a1, b1), (c0, d0, c1, d1) that SXTB16 / SXTB16 ROR 8 unpack
 * into the four channels' 16-bit pairs; unpacked once per call into the scratch. A block is 2
 * pixels x 4 channels: per tap pair 2 LDR (pixels) + 2 LDRD (weights) + 8 SMLAD.
 * Scratch (words): per channel quad 12 + 4 * k_h * nw (biases, unpacked weights, multipliers,
 * shifts), then the ring of 2 k_h widened rows of rw words (long enough for one more pixel when
 * out_w is odd: it is computed, not stored); packing.py, dsp_first_scratch_words, sizes it.
 */
#ifndef HIL_OPT_DSP_FIRST_H
#define HIL_OPT_DSP_FIRST_H

#include "opt_dsp.h"

/* Pair words of a window row and the widened row's length in words (optimized.py: _first_geometry). */
#define HIL_FIRST_NW(p) (((p)->k_w * (p)->in_c + 1) / 2)
#define HIL_FIRST_RW(p) \
    ((((p)->out_w + ((p)->out_w & 1) - 1) * (p)->stride_w * (p)->in_c + 2 * HIL_FIRST_NW(p) + 1) / 2)

static inline void hil_first_st32(int16_t *dst, uint32_t v)
{
    __builtin_memcpy(dst, &v, 4); /* one STR (unaligned when the left padding is odd) */
}

/* (x0, x2), (x1, x3) -> (x0, x1) and (x2, x3): PKHBT / PKHTB */
#if HIL_SIMD_NATIVE && defined(__GNUC__)
#define HIL_FIRST_PK(lo, hi, a, b)                                                                 \
    __asm__("pkhbt %0, %2, %3, lsl #16\n\tpkhtb %1, %3, %2, asr #16" : "=&r"(lo), "=r"(hi) : "r"(a), "r"(b))
#else
#define HIL_FIRST_PK(lo, hi, a, b) ((lo) = ((a) & 0xFFFFu) | ((b) << 16), (hi) = ((b) & 0xFFFF0000u) | ((a) >> 16))
#endif

/* Input row `row` (null: a padding row) widened to e int16 values from column -pad_w, padded with
 * the zero point, into d0 and d1 (the ring's two copies): per 4 values LDR, 2 SXTB16, 2 PKH, 4 STR. */
HIL_OPT_INL void hil_first_widen(const hil_opt_conv_t *p, const int8_t *row, int16_t *d0, int16_t *d1, int32_t e)
{
    const int16_t zp = (int16_t)p->in_zp;
    int32_t lead = p->pad_w * p->in_c, m = p->in_w * p->in_c;
    if (row == 0) {
        lead = e;
    }
    lead = lead < e ? lead : e;
    m = m < e - lead ? m : e - lead;
    int32_t i = 0;
    for (; i < lead; ++i) {
        d0[i] = zp;
        d1[i] = zp;
    }
    int32_t j = 0;
    HIL_OPT_UNROLL
    for (; j + 4 <= m; j += 4) {
        const uint32_t w = hil_load32(row + j);
        const uint32_t a = hil_sxtb16(w), b = hil_sxtb16_ror8(w);
        uint32_t lo, hi;
        HIL_FIRST_PK(lo, hi, a, b);
        hil_first_st32(d0 + lead + j, lo);
        hil_first_st32(d0 + lead + j + 2, hi);
        hil_first_st32(d1 + lead + j, lo);
        hil_first_st32(d1 + lead + j + 2, hi);
    }
    for (; j < m; ++j) {
        d0[lead + j] = row[j];
        d1[lead + j] = row[j];
    }
    for (i = lead + m; i < e; ++i) {
        d0[i] = zp;
        d1[i] = zp;
    }
}

/* One tap pair of the 2 x 4 block: the two pixels' words at byte offsets o0, o1 from x, the four
 * channels' weight pairs (2 LDRD), 8 SMLAD. */
#define HIL_FIRST_STEP_C(x, o0, o1, w, a, b)                                                       \
    do {                                                                                           \
        const uint32_t u_ = hil_load32((x) + (o0)), v_ = hil_load32((x) + (o1));                   \
        uint32_t wa_, wb_;                                                                         \
        HIL_LDRD_PI(wa_, wb_, w);                                                                  \
        a[0] = hil_smlad(u_, wa_, a[0]);                                                           \
        b[0] = hil_smlad(v_, wa_, b[0]);                                                           \
        a[1] = hil_smlad(u_, wb_, a[1]);                                                           \
        b[1] = hil_smlad(v_, wb_, b[1]);                                                           \
        HIL_LDRD_PI(wa_, wb_, w);                                                                  \
        a[2] = hil_smlad(u_, wa_, a[2]);                                                           \
        b[2] = hil_smlad(v_, wa_, b[2]);                                                           \
        a[3] = hil_smlad(u_, wb_, a[3]);                                                           \
        b[3] = hil_smlad(v_, wb_, b[3]);                                                           \
    } while (0)
/* All k_h x nw tap pairs of the block as one asm block at -O2, when the layer's geometry reaches
 * the kernel as constants (one call site: gcc's IPA constant propagation): the assembler repeats
 * the step (.rept) with the offsets as immediates. 8 accumulators, 4 operands and 2 pointers are
 * the 14 registers there are; gcc's own schedule of the C steps spilled accumulators (VWW's first
 * layer: 1.8 instead of 1.6 insn/MAC). */
#if HIL_SIMD_NATIVE && defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define HIL_FIRST_ASM 1
/* one step at byte offset hilfj%= (pixel 0) and hilfj%= + d (pixel 1) */
#define HIL_FIRST_STEP_TXT                                                                         \
    "ldr %[u], [%[x], #hilfj%=]\n\t"                                                                \
    "ldr %[v], [%[x], #(hilfj%= + %c[d])]\n\t"                                                      \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                                            \
    "smlad %[a0], %[u], %[wa], %[a0]\n\t"                                                          \
    "smlad %[b0], %[v], %[wa], %[b0]\n\t"                                                          \
    "smlad %[a1], %[u], %[wb], %[a1]\n\t"                                                          \
    "smlad %[b1], %[v], %[wb], %[b1]\n\t"                                                          \
    "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                                            \
    "smlad %[a2], %[u], %[wa], %[a2]\n\t"                                                          \
    "smlad %[b2], %[v], %[wa], %[b2]\n\t"                                                          \
    "smlad %[a3], %[u], %[wb], %[a3]\n\t"                                                          \
    "smlad %[b3], %[v], %[wb], %[b3]\n\t"                                                          \
    ".set hilfj%=, hilfj%= + 4\n\t"
/* The quad's 8 outputs (rq30, full clamp), in the same asm block after the MACs (its pointer
 * and operand registers are then free: one block of 14 registers; a block of its own needed 15):
 * the output pointer from the stack, then per channel its (multiplier, rs - 1) pair (LDRD from the
 * scratch, just past the weights), kk = c1 << (rs - 1) (MOV/MVN, LSL; c1 = 1 + 2 * offset), and per
 * pixel SMMLAR, ADD, ASR, SSAT and a STRB at an immediate offset (pixel 1's n bytes on): 13
 * instructions per 2 outputs, where gcc's schedule of the C took ~18. Registers: u = multiplier,
 * v = shift, wa = kk, wb = temporary, x = output. */
#define HIL_FIRST_Q(acc, off)                                                                      \
    "smmlar %[wb], %[" acc "], %[u], %[wa]\n\t"                                                   \
    "add %[" acc "], %[wb], %[" acc "], asr #31\n\t"                                              \
    "asr %[" acc "], %[" acc "], %[v]\n\t"                                                        \
    "ssat %[" acc "], #8, %[" acc "], asr #1\n\t"                                                 \
    "strb %[" acc "], [%[x], #" off "]\n\t"
#define HIL_FIRST_QC(a_, b_, c_)                                                                   \
    "ldrd %[u], %[v], [%[w]], #8\n\t"                                                             \
    ".if %c[c1] < 0\n\t"                                                                          \
    "mvn %[wa], #(-(%c[c1]) - 1)\n\t"                                                             \
    ".else\n\t"                                                                                   \
    "mov %[wa], #%c[c1]\n\t"                                                                      \
    ".endif\n\t"                                                                                  \
    "lsl %[wa], %[wa], %[v]\n\t" HIL_FIRST_Q(a_, #c_) HIL_FIRST_Q(b_, "(%c[n] + " #c_ ")")
/* The first step starts pixel 1's accumulators from pixel 0's biases (before they change): no
 * copies. Then the rest of kernel row 0, then kernel rows 1 .. k_h - 1; with rq_ the outputs. */
#define HIL_FIRST_MACS_ASM(px_, kh_, nw_, rowb_, d_, pw_, a, b, rq_, o_, n_, c1_)                 \
    do {                                                                                           \
        uint32_t u_, v_, wa_, wb_;                                                                 \
        const uint8_t *x_ = (px_);                                                                 \
        int8_t *o_m = (o_);                                                                        \
        __asm__ volatile("ldr %[u], [%[x]]\n\t"                                                     \
                "ldr %[v], [%[x], #%c[d]]\n\t"                                                      \
                "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                                \
                "smlad %[b0], %[v], %[wa], %[a0]\n\t"                                              \
                "smlad %[a0], %[u], %[wa], %[a0]\n\t"                                              \
                "smlad %[b1], %[v], %[wb], %[a1]\n\t"                                              \
                "smlad %[a1], %[u], %[wb], %[a1]\n\t"                                              \
                "ldrd %[wa], %[wb], [%[w]], #8\n\t"                                                \
                "smlad %[b2], %[v], %[wa], %[a2]\n\t"                                              \
                "smlad %[a2], %[u], %[wa], %[a2]\n\t"                                              \
                "smlad %[b3], %[v], %[wb], %[a3]\n\t"                                              \
                "smlad %[a3], %[u], %[wb], %[a3]\n\t"                                              \
                ".set hilfj%=, 4\n\t"                                                              \
                ".rept %c[nw] - 1\n\t" HIL_FIRST_STEP_TXT ".endr\n\t"                               \
                ".set hilfk%=, %c[rowb]\n\t"                                                        \
                ".rept %c[kh] - 1\n\t"                                                             \
                ".set hilfj%=, hilfk%=\n\t"                                                         \
                ".rept %c[nw]\n\t" HIL_FIRST_STEP_TXT ".endr\n\t"                                   \
                ".set hilfk%=, hilfk%= + %c[rowb]\n\t"                                              \
                ".endr\n\t"                                                                         \
                ".if %c[rq]\n\t"                                                                    \
                "ldr %[x], %[o]\n\t" HIL_FIRST_QC("a0", "b0", 0) HIL_FIRST_QC("a1", "b1", 1)         \
                HIL_FIRST_QC("a2", "b2", 2) HIL_FIRST_QC("a3", "b3", 3)                               \
                ".endif"                                                                           \
                : [a0] "+r"(a[0]), [a1] "+r"(a[1]), [a2] "+r"(a[2]), [a3] "+r"(a[3]), [b0] "=&r"(b[0]), \
                  [b1] "=&r"(b[1]), [b2] "=&r"(b[2]), [b3] "=&r"(b[3]), [w] "+r"(pw_), [u] "=&r"(u_),  \
                  [v] "=&r"(v_), [wa] "=&r"(wa_), [wb] "=&r"(wb_), [x] "+r"(x_)                     \
                : [kh] "i"(kh_), [nw] "i"(nw_), [rowb] "i"(rowb_), [d] "i"(d_), [o] "m"(o_m),       \
                  [rq] "i"(rq_), [n] "i"(n_), [c1] "i"(c1_)                                        \
                : "memory");                                                                       \
    } while (0)
#endif

/* rq30 layers' output: acc is already doubled, r = rs - 1, kk = (1 + 2 * offset) << r */
HIL_OPT_INL int8_t hil_first_out30(const hil_opt_conv_t *p, int32_t acc, int32_t m, int32_t r, int32_t kk)
{
    int32_t v = hil_opt_rq30(acc, m, r, kk, 0);
    if (p->act_min != -128 || p->act_max != 127) {
        v = v < p->act_min ? p->act_min : v;
        v = v > p->act_max ? p->act_max : v;
    }
    return (int8_t)v;
}

/* 2 pixels (x: the first's window, the second's at x1 bytes on) x 4 channels. s: the quad's
 * unpacked stream (4 biases, 4 words a tap pair, 4 multipliers, 4 shifts); lsh at the quad's first
 * channel. Stores n_c of the 4 channels to o0 and, unless it is null, o1. */
HIL_OPT_INL void hil_first_block(const hil_opt_conv_t *p, const uint8_t *x, int32_t x1, const uint32_t *s,
                                 const int32_t *lsh, int32_t n_c, int8_t *o0, int8_t *o1)
{
    const int32_t nw = HIL_FIRST_NW(p), rowb = 4 * HIL_FIRST_RW(p);
    int32_t a[4], b[4];
    uint32_t t0, t1;
    HIL_LDRD_PI(t0, t1, s);
    a[0] = (int32_t)t0;
    a[1] = (int32_t)t1;
    HIL_LDRD_PI(t0, t1, s);
    a[2] = (int32_t)t0;
    a[3] = (int32_t)t1;
#if defined(HIL_FIRST_ASM)
    if (__builtin_constant_p(p->k_h) && __builtin_constant_p(nw) && __builtin_constant_p(rowb) &&
        __builtin_constant_p(x1) && (p->k_h - 1) * rowb + 4 * nw + x1 < 4096) {
        /* the outputs too: rq30, the whole quad, both pixels, the full clamp, constant n and offset */
        if (p->rq30 && n_c == 4 && o1 == o0 + p->out_c && p->act_min == -128 && p->act_max == 127 &&
            __builtin_constant_p(p->out_off) && __builtin_constant_p(p->out_c) && p->out_c + 3 <= 4095) {
            HIL_FIRST_MACS_ASM(x, p->k_h, nw, rowb, x1, s, a, b, 1, o0, p->out_c, 1 + 2 * p->out_off);
            return;
        }
        HIL_FIRST_MACS_ASM(x, p->k_h, nw, rowb, x1, s, a, b, 0, o0, 0, 0);
    } else
#endif
    {
        b[0] = a[0];
        b[1] = a[1];
        b[2] = a[2];
        b[3] = a[3];
        HIL_OPT_UNROLL_K
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const uint8_t *px = x + ky * rowb;
            HIL_OPT_UNROLL_K
            for (int32_t j = 0; j < nw; ++j, px += 4) {
                HIL_FIRST_STEP_C(px, 0, x1, s, a, b);
            }
        }
    }
    if (p->rq30) { /* weights and biases doubled (hil_opt_first_dsp): hil_opt_rq30's 4 instructions */
        HIL_OPT_UNROLL
        for (int32_t c = 0; c < n_c; ++c) {
            const int32_t m = (int32_t)s[2 * c], r = (int32_t)s[2 * c + 1], kk = hil_opt_rq30_k(p->out_off, r);
            o0[c] = hil_first_out30(p, a[c], m, r, kk);
            if (o1) {
                o1[c] = hil_first_out30(p, b[c], m, r, kk);
            }
        }
        return;
    }
    HIL_OPT_UNROLL
    for (int32_t c = 0; c < n_c; ++c) {
        const int32_t m = (int32_t)s[2 * c], r = (int32_t)s[2 * c + 1];
        const int32_t *ls = p->has_lshift ? lsh + c : lsh;
        o0[c] = hil_opt_out(p, a[c], 0, &m, &r, ls);
        if (o1) {
            o1[c] = hil_opt_out(p, b[c], 0, &m, &r, ls);
        }
    }
}

/* Words of a channel quad's stream: in flash (q; int8 weights) and unpacked in the scratch. */
#define HIL_FIRST_QW(k2) (12 + 2 * (k2))
#define HIL_FIRST_SW(k2) (12 + 4 * (k2))

/* q: per channel quad (out_c padded to a multiple of 4) 4 biases (bias_eff), k_h * nw * 2 words of
 * int8 weights, 4 multipliers, 4 right shifts (packing.py, dsp_first_stream); lsh: the left shifts
 * (padded likewise), read only when some channel has one. Out of line even at -O2: inlined into
 * the model's one function it changed gcc's register allocation of the other layers (VWW: +115 k
 * instructions in two 1x1 layers); a layer's geometry still reaches it as constants (one call). */
static __attribute__((noinline, unused)) void hil_opt_first_dsp(const hil_opt_conv_t *params, const int8_t *in,
                                                               const uint32_t *q, const int32_t *lsh,
                                                               int32_t *scratch, int8_t *out)
{
    const hil_opt_conv_t pcopy = *params; /* stores through int8_t cannot alias a local copy */
    const hil_opt_conv_t *p = &pcopy;
    const int32_t nw = HIL_FIRST_NW(p), rw = HIL_FIRST_RW(p), k2 = p->k_h * nw, n = p->out_c;
    const int32_t quads = (n + 3) / 4, step = p->stride_w * p->in_c, row_in = p->in_w * p->in_c;
    uint32_t *st = (uint32_t *)scratch;
    for (int32_t g = 0; g < quads; ++g) {
        const uint32_t *qg = q + g * HIL_FIRST_QW(k2);
        uint32_t *sg = st + g * HIL_FIRST_SW(k2);
        for (int32_t i = 0; i < 4; ++i) {
            sg[i] = qg[i];
            sg[4 + 4 * k2 + 2 * i] = qg[4 + 2 * k2 + i]; /* (multiplier, shift) pairs: one LDRD */
            sg[5 + 4 * k2 + 2 * i] = qg[8 + 2 * k2 + i];
        }
        for (int32_t i = 0; i < 2 * k2; ++i) { /* rq30: doubled, as the stream's biases */
            const uint32_t v = qg[4 + i], lo = hil_sxtb16(v), hi = hil_sxtb16_ror8(v);
            sg[4 + 2 * i] = p->rq30 ? hil_sxtab16(lo, v) : lo;
            sg[5 + 2 * i] = p->rq30 ? hil_sxtab16_ror8(hi, v) : hi;
        }
    }
    /* the ring: input row y in slot y % k_h and again in slot y % k_h + k_h, so a window's k_h
     * rows are consecutive slots from y0 % k_h; each input row is widened once */
    int16_t *ring = (int16_t *)(st + quads * HIL_FIRST_SW(k2));
    const int32_t kh = p->k_h, span = 2 * rw; /* int16 values a slot */
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * row_in;
        int32_t next = -p->pad_h; /* the first input row not yet in the ring */
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            next = next > y0 ? next : y0;
            for (; next < y0 + kh; ++next) {
                const int32_t slot = (next + kh * p->in_h) % kh; /* next >= -pad_h > -k_h * in_h */
                hil_first_widen(p, next >= 0 && next < p->in_h ? in_b + next * row_in : (const int8_t *)0,
                                ring + slot * span, ring + (slot + kh) * span, span);
            }
            const int16_t *rows = ring + ((y0 + kh * p->in_h) % kh) * span;
            int8_t *o = out + ((b * p->out_h + oy) * p->out_w) * n;
            for (int32_t ox = 0; ox < p->out_w; ox += 2, o += 2 * n) {
                const uint8_t *x = (const uint8_t *)(rows + ox * step);
                int8_t *o1 = ox + 1 < p->out_w ? o + n : (int8_t *)0;
                const uint32_t *sg = st;
                int32_t c = 0;
                for (; c + 4 <= n; c += 4, sg += HIL_FIRST_SW(k2)) {
                    hil_first_block(p, x, 2 * step, sg, p->has_lshift ? lsh + c : lsh, 4, o + c,
                                    o1 ? o1 + c : o1);
                }
                if (c < n) { /* the last 1-3 channels (their quad padded with zero weights) */
                    hil_first_block(p, x, 2 * step, sg, p->has_lshift ? lsh + c : lsh, n - c, o + c,
                                    o1 ? o1 + c : o1);
                }
            }
        }
    }
}

#endif /* HIL_OPT_DSP_FIRST_H */
