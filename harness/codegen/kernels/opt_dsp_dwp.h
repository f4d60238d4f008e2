/* The int8 3x3 depthwise kernel over per-channel int16 planes (hil_opt_dwp3_s8) for the cores
 * with the DSP extension (Cortex-M4/M7/M33/M55), chosen at generation time
 * (harness/codegen/optimized.py); the other DSP depthwise kernels: opt_dsp_dw.h. */
#ifndef HIL_OPT_DSP_DWP_H
#define HIL_OPT_DSP_DWP_H

#include "opt_common.h"
#include "opt_dsp.h" /* hil_opt_rq30 */
#include "opt_dsp_dwp_copy.h" /* the plane copy's asm steps (HIL_DWP_ASM) */

/* SMLATB / SMLADX (not in hil_simd.h): top(x) * bottom(y) + acc; x.lo * y.hi + x.hi * y.lo + acc. */
#if HIL_SIMD_NATIVE
static inline int32_t hil_dw_smlatb(uint32_t x, uint32_t y, int32_t acc) { return __smlatb((int32_t)x, (int32_t)y, acc); }
static inline int32_t hil_dw_smladx(uint32_t x, uint32_t y, int32_t acc)
{
    return __smladx((int16x2_t)x, (int16x2_t)y, acc);
}
/* (int16)lo | (int16)hi << 16: PKHBT */
static inline uint32_t hil_dw_pack16(int32_t lo, int32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi)); /* no ACLE intrinsic in gcc 12 */
    return r;
}
#else
static inline uint32_t hil_dw_pack16(int32_t lo, int32_t hi) { return (uint32_t)(uint16_t)lo | (uint32_t)hi << 16; }
static inline int32_t hil_dw_smlatb(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hil_hi16(x) * hil_lo16(y)));
}
static inline int32_t hil_dw_smladx(uint32_t x, uint32_t y, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(hil_lo16(x) * hil_hi16(y)) + (uint32_t)(hil_hi16(x) * hil_lo16(y)));
}
#endif

/* Wa = (w0, w1) / Wb = (w2, w1) of a kernel row's word (w0, w2, w1, w1); dbl (rq30 == 2 layers):
 * doubled by one SXTAB16 more, so the accumulators are 2 x the sums hil_opt_rq30 takes doubled */
static inline uint32_t hil_dwp_wa(uint32_t w, int dbl)
{
    const uint32_t v = hil_sxtb16(w);
    return dbl ? hil_sxtab16(v, w) : v;
}
static inline uint32_t hil_dwp_wb(uint32_t w, int dbl)
{
    const uint32_t v = hil_sxtb16_ror8(w);
    return dbl ? hil_sxtab16_ror8(v, w) : v;
}
/* The C steps' output: hil_opt_rq30 of the doubled accumulator (rs: its shift word, rs - 1) for
 * rq30 == 2 layers, else hil_opt_out's rs2 form (rs - 2) */
static inline int8_t hil_dwp_out(const hil_opt_conv_t *p, int32_t acc, int32_t m, int32_t rs)
{
    if (p->rq30 != 2) {
        return hil_opt_out(p, acc, 0, &m, &rs, (const int32_t *)0);
    }
    int32_t v = hil_opt_rq30(acc, m, rs, hil_opt_rq30_k(p->out_off, rs), 0);
    v = v < p->act_min ? p->act_min : v;
    return (int8_t)(v > p->act_max ? p->act_max : v);
}

/* Depthwise 3x3, depth multiplier 1, stride 1 or 2 (either axis), any channel count, every right
 * shift >= 2 and no left shift (the generator checks), one channel at a time over its own plane
 * (at stride 2 often 4 channels a pass, in bands of output rows where 4 whole planes would not
 * fit: hil_dwp_rows):
 * - the channel's padded input plane is copied into the scratch as int16 (two LDRSB + PKHBT + STR
 *   per 2 values; the zero-point border is written once per call), so a word holds two horizontally
 *   adjacent pixels P_j = (x_2j, x_2j+1) and SMLAD multiplies two taps of one channel at once;
 * - per kernel row r the stream holds one int8 word (w_r0, w_r2, w_r1, w_r1), unpacked once per
 *   channel by SXTB16 / SXTB16 ROR 8 into Wa = (w_r0, w_r1) and Wb = (w_r2, w_r1) (rq30 == 2
 *   layers: doubled by an SXTAB16 more, with a doubled bias, so the requantization is
 *   hil_opt_rq30's 4 instructions: SMMLAR, ADD, ASR, SSAT; else hil_opt_rq2_dsp's 6);
 * - stride 1, two outputs per step, per kernel row: out_o += SMLAD(P_j, Wa) + SMLABB(P_j+1, Wb),
 *   out_o+1 += SMLATB(P_j, Wa) + SMLADX(P_j+1, Wb): 4 instructions per 6 MACs; stride 2:
 *   out_o += SMLAD(P_o, Wa) + SMLABB(P_o+1, Wb).
 * At -O2 on the DSP cores a channel's rows are one asm block (14 registers; HIL_DWP_CHANNEL):
 * per row steps of 4 outputs (58 instructions per 36 MACs with rq30; stride 2: 60), then one of 3, 2 or 1
 * as out_w needs, then 5 instructions to the next row; the plane's rows of >= 8 values are copied
 * by an asm step of 8 (17 instructions).
 * A channel's plane is copied before any of its outputs is stored, and an output only overwrites
 * its own channel's inputs: in place natively. q: per channel (w_0, w_1, w_2 words, bias_eff,
 * multiplier, right shift - 2; rq30 == 2: 2 x bias_eff, multiplier, right shift - 1). scratch:
 * the plane (G = 4 passes: 4 of them, or 4 band planes within one), ((out_h - 1) * stride_h + 3)
 * rows of ((out_w - 1) * stride_w + 5) / 2 words, then 11 words the asm block reads per channel
 * (weights, bias, row end, output row step, multiplier, addend: wt; optimized.py DWP_WT_WORDS). */
#if HIL_SIMD_NATIVE && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
#define HIL_DWP_ASM 1
/* the requantization of accumulator S into t, the channel's multiplier in wa and its addend in
 * wb (HIL_DWP_MK loads them after a step's MACs): with r30 (rq30 == 2 layers: S is 2 x the
 * accumulator, the addend kk = (1 + 2 * offset) << (rs - 1)) opt_dsp.h's hil_opt_rq30 in 4
 * instructions (SMMLAR, ADD of the sign, ASR, SSAT), else the 6 of opt_common.h's hil_opt_rq2_dsp
 * (addend 2^30); then the activation clamps inside the int8 range (assembled only when the layer
 * has them) */
/* (rows without 6-output steps keep them in s4 / s5 for the whole channel: their steps use 4
 * accumulators at most) */
#define HIL_DWP_MK ".if %c[nh]\n\tldrd %[wa], %[wb], [%[wp], #36]\n\t.endif\n\t"
#define HIL_DWP_RQR(S, M, K)                                                                       \
    ".if %c[r30]\n\t"                                                                              \
    "smmlar %[t], %[" S "], %[" M "], %[" K "]\n\t"                                                \
    "add %[t], %[t], %[" S "], asr #31\n\t"                                                        \
    "asr %[t], %[t], %[rsn]\n\t"                                                                   \
    ".else\n\t"                                                                                    \
    "asr %[t], %[" S "], #31\n\t"                                                                  \
    "add %[x], %[" K "], %[t], lsl #31\n\t"                                                        \
    "smlal %[x], %[t], %[" S "], %[" M "]\n\t"                                                     \
    "asr %[t], %[t], %[rsn]\n\t"                                                                   \
    "add %[t], %[t], %[k]\n\t"                                                                     \
    ".endif\n\t"
#define HIL_DWP_RQ(S)                                                                              \
    ".if %c[nh] == 0\n\t" HIL_DWP_RQR(S, "s4", "s5") ".else\n\t" HIL_DWP_RQR(S, "wa", "wb") ".endif\n\t" \
    "ssat %[t], #8, %[t], asr #1\n\t"                                                              \
    ".if %c[amin] > -128\n\tcmp %[t], %[amin]\n\tit lt\n\tmovlt %[t], %[amin]\n\t.endif\n\t"                \
    ".if %c[amax] < 127\n\tcmp %[t], %[amax]\n\tit gt\n\tmovgt %[t], %[amax]\n\t.endif\n\t"
/* kernel row at byte offset E (an assembler expression on e1, the byte step of a plane row; rows
 * 1, 2: weights at WO) of a stride-1 step of 2 outputs (pp has moved 4 on), of a single output
 * (stride 2, or stride 1's odd last one; 4), of stride 1's steps of 3 / 4 (8) and of stride 2's
 * steps of 2 / 3 / 4 outputs (N = 8 / 12 / 16: pp has moved N on) */
/* pair words (R1, R2) at byte offset OFF from pp: one LDRD when the kernel rows' offsets fit its
 * 8 bits x 4 (dd), else two LDR */
#define HIL_DWP_LD2(R1, R2, OFF)                                                                   \
    ".if %c[dd]\n\tldrd %[" R1 "], %[" R2 "], [%[pp], #" OFF "]\n\t.else\n\t"                      \
    "ldr %[" R1 "], [%[pp], #" OFF "]\n\tldr %[" R2 "], [%[pp], #" OFF "+4]\n\t.endif\n\t"
#define HIL_DWP_ROW2(WO, E)                                                                        \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    HIL_DWP_LD2("t", "x", E "-4")                                                                  \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlatb %[s1], %[t], %[wa], %[s1]\n\t"                                                         \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"
#define HIL_DWP_ROW1(WO, E)                                                                        \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    HIL_DWP_LD2("t", "x", E "-4")                                                                  \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"
#define HIL_DWP_ROW34(WO, E)                                                                       \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    HIL_DWP_LD2("t", "x", E "-8")                                                                  \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlatb %[s1], %[t], %[wa], %[s1]\n\t"                                                         \
    "ldr %[t], [%[pp], #" E "]\n\t"                                                                \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"
#define HIL_DWP_ROW3(WO, E) HIL_DWP_ROW34(WO, E)
#define HIL_DWP_ROW4(WO, E)                                                                        \
    HIL_DWP_ROW34(WO, E)                                                                           \
    "smlatb %[s3], %[x], %[wa], %[s3]\n\t"                                                         \
    "smladx %[s3], %[t], %[wb], %[s3]\n\t"
/* (stride 2: P_0..P_3 of the row as two pair loads) */
#define HIL_DWP_ROW2S2H(WO, E, N)                                                                  \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    HIL_DWP_LD2("t", "x", E "-" N)                                                                 \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s1]\n\t"
#define HIL_DWP_ROW2S2(WO, E, N)                                                                   \
    HIL_DWP_ROW2S2H(WO, E, N)                                                                      \
    "ldr %[t], [%[pp], #" E "-" N "+8]\n\t"                                                        \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"
#define HIL_DWP_ROW3S2(WO, E, N)                                                                   \
    HIL_DWP_ROW2S2H(WO, E, N)                                                                      \
    HIL_DWP_LD2("t", "x", E "-" N "+8")                                                            \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"
#define HIL_DWP_ROW4S2(WO, E)                                                                      \
    HIL_DWP_ROW3S2(WO, E, "16")                                                                    \
    "ldr %[t], [%[pp], #" E "]\n\t"                                                                \
    "smlad %[s3], %[x], %[wa], %[s3]\n\t"                                                          \
    "smlabb %[s3], %[t], %[wb], %[s3]\n\t"
#define HIL_DWP_E1 "%c[e1]"
#define HIL_DWP_E2 "%c[e1]*2"
/* Kernel row 0 of a step: the bias into accumulator B (every output starts from it, wt[6]), the
 * row's weights, the first two pair words (pp moves N bytes on; the second is at X after it) */
#define HIL_DWP_HEAD(B, N, X)                                                                      \
    "ldr %[" B "], [%[wp], #24]\n\t"                                                              \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldrd %[t], %[x], [%[pp]], #" N "\n\t"
/* The steps: kernel row 0, then rows 1 and 2 */
#define HIL_DWP_QUAD1                                                                              \
    HIL_DWP_HEAD("s0", "8", "-4")                                                                  \
    "smlatb %[s1], %[t], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[s0]\n\t"                                                          \
    "smlatb %[s3], %[x], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"                                                         \
    "smladx %[s3], %[t], %[wb], %[s3]\n\t"                                                         \
    HIL_DWP_ROW4("8", HIL_DWP_E1) HIL_DWP_ROW4("16", HIL_DWP_E2)
#define HIL_DWP_QUAD2                                                                              \
    HIL_DWP_HEAD("s3", "16", "-12")                                                                \
    "smlad %[s0], %[t], %[wa], %[s3]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s3]\n\t"                                                          \
    "ldrd %[t], %[x], [%[pp], #-8]\n\t"                                                            \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[s3]\n\t"                                                          \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"                                                         \
    "smlad %[s3], %[x], %[wa], %[s3]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s3], %[t], %[wb], %[s3]\n\t"                                                         \
    HIL_DWP_ROW4S2("8", HIL_DWP_E1) HIL_DWP_ROW4S2("16", HIL_DWP_E2)
#define HIL_DWP_PAIR1                                                                              \
    HIL_DWP_HEAD("s0", "4", "0")                                                                   \
    "smlatb %[s1], %[t], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    HIL_DWP_ROW2("8", HIL_DWP_E1) HIL_DWP_ROW2("16", HIL_DWP_E2)
#define HIL_DWP_PAIR2                                                                              \
    HIL_DWP_HEAD("s1", "8", "-4")                                                                  \
    "smlad %[s0], %[t], %[wa], %[s1]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s1]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    HIL_DWP_ROW2S2("8", HIL_DWP_E1, "8") HIL_DWP_ROW2S2("16", HIL_DWP_E2, "8")
#define HIL_DWP_TRIPLE1                                                                            \
    HIL_DWP_HEAD("s0", "8", "-4")                                                                  \
    "smlatb %[s1], %[t], %[wa], %[s0]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[s0]\n\t"                                                          \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "ldr %[t], [%[pp]]\n\t"                                                                        \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"                                                         \
    HIL_DWP_ROW3("8", HIL_DWP_E1) HIL_DWP_ROW3("16", HIL_DWP_E2)
#define HIL_DWP_TRIPLE2                                                                            \
    HIL_DWP_HEAD("s2", "12", "-8")                                                                 \
    "smlad %[s0], %[t], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[s2]\n\t"                                                          \
    "ldrd %[t], %[x], [%[pp], #-4]\n\t"                                                            \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[s2]\n\t"                                                          \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"                                                         \
    HIL_DWP_ROW3S2("8", HIL_DWP_E1, "12") HIL_DWP_ROW3S2("16", HIL_DWP_E2, "12")
#define HIL_DWP_SINGLE                                                                             \
    HIL_DWP_HEAD("s0", "4", "0")                                                                   \
    "smlad %[s0], %[t], %[wa], %[s0]\n\t"                                                          \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    HIL_DWP_ROW1("8", HIL_DWP_E1) HIL_DWP_ROW1("16", HIL_DWP_E2)
/* The 6-output steps' multiplies of a kernel row: stride 1 from P_0, P_1 in (t, x), LD loading
 * P_2, P_3 (12 multiplies per 18 MACs); stride 2 (MUL6S2) from P_0, P_1, LD2 / LD3 loading
 * P_2..P_5, then P_6 into t (12 per 18). A0..A5: each accumulator's addend for its first multiply
 * (the bias in s5 for kernel row 0, else the accumulator itself) */
#define HIL_DWP_MUL6(A0, A1, A2, A3, A4, A5, LD)                                                   \
    "smlad %[s0], %[t], %[wa], %[" A0 "]\n\t"                                                      \
    "smlatb %[s1], %[t], %[wa], %[" A1 "]\n\t"                                                     \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smladx %[s1], %[x], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[x], %[wa], %[" A2 "]\n\t"                                                      \
    "smlatb %[s3], %[x], %[wa], %[" A3 "]\n\t"                                                     \
    LD                                                                                             \
    "smlabb %[s2], %[t], %[wb], %[s2]\n\t"                                                         \
    "smladx %[s3], %[t], %[wb], %[s3]\n\t"                                                         \
    "smlad %[s4], %[t], %[wa], %[" A4 "]\n\t"                                                      \
    "smlatb %[s5], %[t], %[wa], %[" A5 "]\n\t"                                                     \
    "smlabb %[s4], %[x], %[wb], %[s4]\n\t"                                                         \
    "smladx %[s5], %[x], %[wb], %[s5]\n\t"
#define HIL_DWP_MUL6S2(A0, A1, A2, A3, A4, A5, LD2, LD3, LD4)                                      \
    "smlad %[s0], %[t], %[wa], %[" A0 "]\n\t"                                                      \
    "smlabb %[s0], %[x], %[wb], %[s0]\n\t"                                                         \
    "smlad %[s1], %[x], %[wa], %[" A1 "]\n\t"                                                      \
    LD2                                                                                            \
    "smlabb %[s1], %[t], %[wb], %[s1]\n\t"                                                         \
    "smlad %[s2], %[t], %[wa], %[" A2 "]\n\t"                                                      \
    "smlabb %[s2], %[x], %[wb], %[s2]\n\t"                                                         \
    "smlad %[s3], %[x], %[wa], %[" A3 "]\n\t"                                                      \
    LD3                                                                                            \
    "smlabb %[s3], %[t], %[wb], %[s3]\n\t"                                                         \
    "smlad %[s4], %[t], %[wa], %[" A4 "]\n\t"                                                      \
    "smlabb %[s4], %[x], %[wb], %[s4]\n\t"                                                         \
    "smlad %[s5], %[x], %[wa], %[" A5 "]\n\t"                                                      \
    LD4                                                                                            \
    "smlabb %[s5], %[t], %[wb], %[s5]\n\t"
/* Stride 1's step of 6 outputs (pp moves 12 on): per kernel row one LDRD of the weights, two of
 * the pairs, 12 multiplies; kernel rows 1, 2 at E (their weights at WO) */
#define HIL_DWP_ROW6(WO, E)                                                                        \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    HIL_DWP_LD2("t", "x", E "-12") HIL_DWP_MUL6("s0", "s1", "s2", "s3", "s4", "s5", HIL_DWP_LD2("t", "x", E "-4"))
#define HIL_DWP_HEX1                                                                               \
    "ldr %[s5], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldrd %[t], %[x], [%[pp]], #12\n\t"                                                            \
    HIL_DWP_MUL6("s5", "s5", "s5", "s5", "s5", "s5", "ldrd %[t], %[x], [%[pp], #-4]\n\t")          \
    HIL_DWP_ROW6("8", HIL_DWP_E1) HIL_DWP_ROW6("16", HIL_DWP_E2)
/* Stride 2's step of 6 outputs (pp moves 24 on): per kernel row 17 instructions */
#define HIL_DWP_ROW6S2(WO, E)                                                                      \
    "ldrd %[wa], %[wb], [%[wp], #" WO "]\n\t"                                                      \
    HIL_DWP_LD2("t", "x", E "-24")                                                                 \
    HIL_DWP_MUL6S2("s0", "s1", "s2", "s3", "s4", "s5", HIL_DWP_LD2("t", "x", E "-16"),              \
                   HIL_DWP_LD2("t", "x", E "-8"),                                                  \
                   "ldr %[t], [%[pp], #" E "]\n\t")
#define HIL_DWP_HEX2                                                                               \
    "ldr %[s5], [%[wp], #24]\n\t"                                                                  \
    "ldrd %[wa], %[wb], [%[wp]]\n\t"                                                               \
    "ldrd %[t], %[x], [%[pp]], #24\n\t"                                                            \
    HIL_DWP_MUL6S2("s5", "s5", "s5", "s5", "s5", "s5", "ldrd %[t], %[x], [%[pp], #-16]\n\t",     \
                   "ldrd %[t], %[x], [%[pp], #-8]\n\t",                                           \
                   "ldr %[t], [%[pp]]\n\t")                                                       \
    HIL_DWP_ROW6S2("8", HIL_DWP_E1) HIL_DWP_ROW6S2("16", HIL_DWP_E2)
/* A whole channel, every output row in one asm block (nothing spills between rows): per row nh
 * steps of 6 outputs (stride 1), nq of 4 (the count of either in rsn's upper bits; ASR reads the
 * shift from its low byte), then
 * one step of the nr = out_w % 4 outputs left, then pp moves to the next row's start by dpp and o
 * by wt[8] (none when the rows are contiguous: os); the rows end when pp reaches wt[7]. s2f: stride 2 along the rows. */
#define HIL_DWP_CHANNEL()                                                                          \
    __asm__ volatile(                                                                              \
        ".if %c[nh] == 0\n\tldrd %[s4], %[s5], [%[wp], #36]\n\t.endif\n\t"                           \
        "0:\n\t"                                                                                   \
        ".if %c[nh]\n\t"                                                                           \
        "3:\n\t"                                                                                   \
        ".if %c[s2f]\n\t" HIL_DWP_HEX2 ".else\n\t" HIL_DWP_HEX1 ".endif\n\t" HIL_DWP_MK              \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        HIL_DWP_RQ("s1") "strb %[t], [%[o], #%c[C]]\n\t"                                           \
        HIL_DWP_RQ("s2") "strb %[t], [%[o], #%c[C]*2]\n\t"                                         \
        HIL_DWP_RQ("s3") "strb %[t], [%[o], #%c[C]*3]\n\t"                                         \
        HIL_DWP_RQ("s4") "strb %[t], [%[o], #%c[C]*4]\n\t"                                         \
        HIL_DWP_RQ("s5") "strb %[t], [%[o], #%c[C]*5]\n\t"                                         \
        "add %[o], %[o], #%c[C]*6\n\t"                                                             \
        ".if %c[nh] > 1\n\t"                                                                       \
        "subs %[rsn], %[rsn], #256\n\t"                                                            \
        "bcs 3b\n\t"                                                                               \
        "add %[rsn], %[rsn], #%c[nh]*256\n\t"                                                      \
        ".endif\n\t"                                                                               \
        ".endif\n\t"                                                                               \
        ".if %c[nq]\n\t"                                                                           \
        "1:\n\t"                                                                                   \
        ".if %c[s2f]\n\t" HIL_DWP_QUAD2 ".else\n\t" HIL_DWP_QUAD1 ".endif\n\t" HIL_DWP_MK          \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        HIL_DWP_RQ("s1") "strb %[t], [%[o], #%c[C]]\n\t"                                           \
        HIL_DWP_RQ("s2") "strb %[t], [%[o], #%c[C]*2]\n\t"                                         \
        HIL_DWP_RQ("s3") "strb %[t], [%[o], #%c[C]*3]\n\t"                                         \
        "add %[o], %[o], #%c[C]*4\n\t"                                                             \
        ".if %c[nq] > 1\n\t"                                                                       \
        "subs %[rsn], %[rsn], #256\n\t"                                                            \
        "bcs 1b\n\t"                                                                               \
        "add %[rsn], %[rsn], #%c[nq]*256\n\t"                                                      \
        ".endif\n\t"                                                                               \
        ".endif\n\t"                                                                               \
        ".if %c[nr] == 3\n\t"                                                                      \
        ".if %c[s2f]\n\t" HIL_DWP_TRIPLE2 ".else\n\t" HIL_DWP_TRIPLE1 ".endif\n\t" HIL_DWP_MK      \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        HIL_DWP_RQ("s1") "strb %[t], [%[o], #%c[C]]\n\t"                                           \
        HIL_DWP_RQ("s2") "strb %[t], [%[o], #%c[C]*2]\n\t"                                         \
        "add %[o], %[o], #%c[C]*3\n\t"                                                             \
        ".endif\n\t"                                                                               \
        ".if %c[nr] == 2\n\t"                                                                      \
        ".if %c[s2f]\n\t" HIL_DWP_PAIR2 ".else\n\t" HIL_DWP_PAIR1 ".endif\n\t" HIL_DWP_MK          \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        HIL_DWP_RQ("s1") "strb %[t], [%[o], #%c[C]]\n\t"                                           \
        "add %[o], %[o], #%c[C]*2\n\t"                                                             \
        ".endif\n\t"                                                                               \
        ".if %c[nr] == 1\n\t" HIL_DWP_SINGLE HIL_DWP_MK                                            \
        HIL_DWP_RQ("s0") "strb %[t], [%[o]]\n\t"                                                   \
        "add %[o], %[o], #%c[C]\n\t"                                                               \
        ".endif\n\t"                                                                               \
        "add %[pp], %[pp], #%c[dpp]\n\t"                                                           \
        ".if %c[os]\n\tldrd %[t], %[x], [%[wp], #28]\n\tadd %[o], %[o], %[x]\n\t"                      \
        ".else\n\tldr %[t], [%[wp], #28]\n\t.endif\n\t" /* (o is already at the next row) */         \
        "cmp %[pp], %[t]\n\t"                                                                      \
        "bne 0b"                                                                                   \
        : [pp] "+r"(pp), [o] "+r"(o), [rsn] "+r"(rsn), [s0] "=&r"(s0_), [s1] "=&r"(s1_), [s2] "=&r"(s2_), \
          [s3] "=&r"(s3_), [s4] "=&r"(s4_), [s5] "=&r"(s5_), [t] "=&r"(t_), [x] "=&r"(x_), [wa] "=&r"(wa_), \
          [wb] "=&r"(wb_)                                                                          \
        : [wp] "r"(wt), [k] "i"(1 + 2 * p->out_off), [r30] "i"(p->rq30 == 2), [nh] "i"(nh),         \
          [amin] "i"(p->act_min), [amax] "i"(p->act_max),                                          \
          [e1] "i"(4 * G * npair), [C] "i"(OS), [nq] "i"(nq), [nr] "i"(nr), \
          [s2f] "i"(sw == 2), [dpp] "i"(dpp), [dd] "i"(8 * G * npair <= 1020), [os] "i"(oys != out_w * OS)                                         \
        : "cc", "memory")
#endif

/* Output rows a pass: 4 channels a pass (g4: their planes' rows interleaved, channel k's row y is
 * plane row 4 y + k; at stride 2, where the copy costs most a MAC (at stride 1 it saves ~0.07
 * insn/MAC for 4x the scratch), channels in fours, plane rows copying >= 6 input values) take
 * every output row when the 4 planes fit HIL_DWP_GROUP_BYTES, else bands of as many output rows
 * as fit 4 band planes in the scratch of one whole plane (VWW's 24x24x16: 5 rows, 11 plane rows;
 * each band re-copies the row it shares with the next); 0: one channel a pass (the generator's
 * test: optimized.py _dsp_dw_plane_group) */
#define HIL_DWP_GROUP_BYTES 8192
static inline int32_t hil_dwp_rows(int32_t g4, int32_t ph, int32_t npair, int32_t sh, int32_t out_h)
{
    const int32_t bh = (ph / 4 - 3) / sh + 1;
    return !g4 ? 0 : 16 * ph * npair <= HIL_DWP_GROUP_BYTES ? out_h : bh >= 2 ? bh : 0;
}

HIL_OPT_FN void hil_opt_dwp3_s8(const hil_opt_conv_t *params, const int8_t *in, const uint32_t *qs, int32_t *scratch,
                                int8_t *out)
{
    const hil_opt_conv_t pcopy = *params; /* a local copy: int8_t stores cannot alias it */
    const hil_opt_conv_t *p = &pcopy;
    const int32_t C = p->in_c;
    const int dbl = p->rq30 == 2; /* doubled weights and bias: the 4-instruction requantization */
    /* the plane's rows run along the longer output axis: transposed (tr) when out_h > out_w at
     * stride 1 (the generator transposes the 3x3 weights to match, optimized.py _dsp_dw3_tr) */
    const int tr = p->stride_h == 1 && p->stride_w == 1 && p->out_h > p->out_w;
    const int32_t sh = tr ? p->stride_w : p->stride_h, sw = tr ? p->stride_h : p->stride_w;
    const int32_t out_h = tr ? p->out_w : p->out_h, out_w = tr ? p->out_h : p->out_w;
    const int32_t in_h = tr ? p->in_w : p->in_h, in_w = tr ? p->in_h : p->in_w;
    const int32_t pad_h = tr ? p->pad_w : p->pad_h, pad_w = tr ? p->pad_h : p->pad_w;
    const int32_t ix = tr ? p->in_w * C : C, iy = tr ? C : p->in_w * C;    /* input steps along / across */
    const int32_t OS = tr ? p->out_w * C : C, oys = tr ? C : p->out_w * C; /* output steps */
    const int32_t pw = (out_w - 1) * sw + 3, npair = (pw + 2) / 2, ph = (out_h - 1) * sh + 3;
    const int32_t rowh = 2 * npair; /* int16 values a plane row */
    int16_t *plane = (int16_t *)(void *)scratch;
    /* the input's rows and columns inside the plane (a layer may leave its last ones unread) */
    const int32_t y0 = pad_h, y1 = pad_h + in_h < ph ? pad_h + in_h : ph;
    const int32_t xn = pad_w + in_w < rowh ? in_w : rowh - pad_w;
    const int32_t rows4 =
        hil_dwp_rows(sh * sw > 1 && C % 4 == 0 && xn >= 6 && 32 * npair <= 4095, ph, npair, sh, out_h);
    const int32_t G = rows4 ? 4 : 1, grow = G * rowh;      /* channels a pass; a channel's row step */
    const int32_t bh = rows4 ? rows4 : out_h, banded = bh < out_h; /* output rows a band */
    const uint32_t zz = ((uint32_t)(uint16_t)(int16_t)p->in_zp) * 0x10001u;
    uint32_t *pl = (uint32_t *)(void *)scratch;
    for (int32_t yg = 0; yg < ((bh - 1) * sh + 3) * G; ++yg, pl += npair) { /* the border (every channel's): */
        const int32_t y = yg / G; /* (banded: every row's sides; a band fills its rows outside the input) */
        const int inside = banded || (y >= y0 && y < y1); /* the words the copy leaves (part) unwritten */
        const int32_t w0 = inside ? (pad_w + 1) / 2 : npair, w1 = inside ? (pad_w + xn) / 2 : npair;
        for (int32_t w = 0; w < w0; ++w) {
            pl[w] = zz;
        }
        for (int32_t w = w1; w < npair; ++w) {
            pl[w] = zz;
        }
    }
#if defined(HIL_DWP_ASM)
    /* Wa, Wb of the 3 kernel rows and the bias (set per channel), then pp's end and o's step at a
     * row's end: the asm block reads them in pairs (LDRD) */
    uint32_t *const wt = (uint32_t *)(void *)scratch + (rows4 == out_h ? 4 : 1) * ph * npair; /* after the planes
                                                                                          * (off the stack) */
    wt[7] = (uint32_t)(uintptr_t)(plane + out_h * sh * grow); /* channel k's: + k * rowh values */
    wt[8] = (uint32_t)(oys - out_w * OS);
#endif
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * C;
        for (int32_t c0 = 0; c0 < C; c0 += G) {
            for (int32_t oy0 = 0; oy0 < out_h; oy0 += bh) { /* the bands (one unless banded) */
            const int32_t nb = out_h - oy0 < bh ? out_h - oy0 : bh; /* the band's output rows */
            const int32_t v0 = oy0 * sh, v1 = v0 + (nb - 1) * sh + 3; /* its padded rows */
            int8_t *out_b = out + b * p->out_h * p->out_w * C + oy0 * oys;
            for (int32_t y = v0; banded && y < v1; ++y) { /* rows of zero points: padding rows */
                if (y < y0 || y >= y1) {
                    uint32_t *z = (uint32_t *)(void *)(plane + (y - v0) * grow);
                    for (int32_t w = 0; w < G * npair; ++w) {
                        z[w] = zz;
                    }
                }
            }
            for (int32_t y = y0 > v0 ? y0 : v0; y < (y1 < v1 ? y1 : v1); ++y) { /* the group's planes */
                int32_t k0 = 0;
#if defined(HIL_DWP_ASM)
                if (G == 4 && 4 * ix <= 4095 && 12 * npair <= 1020) {
                    /* 4 channels' words at once: 4 pixels a step, then the rest per channel */
                    const int8_t *s = in_b + (y - pad_h) * iy + c0;
                    int16_t *d = plane + (y - v0) * grow + pad_w;
                    if (pad_w & 1) { /* the first values share their words with the border */
                        for (int32_t k = 0; k < 4; ++k) {
                            d[k * rowh] = s[k];
                        }
                        s += ix;
                        ++d;
                        k0 = 1;
                    }
                    uint32_t *dw = (uint32_t *)(void *)d;
                    _Pragma("GCC unroll 3") /* (VWW's 12-value rows: no loop) */
                    for (int32_t n = xn - k0; n >= 4; n -= 4) {
                        HIL_DWP_WIDEN4X4(s, dw, ix, 4 * npair);
                    }
                    k0 += (xn - k0) & ~3; /* the pixels done */
                    if (xn - k0 >= 2) {   /* (6x6 inputs: 4 + 2) */
                        HIL_DWP_WIDEN4X2(s, dw, ix, 4 * npair);
                        k0 += 2;
                    }
                }
#endif
                for (int32_t k = 0; k < G; ++k) { /* per channel: two values a word store */
                const int8_t *s = in_b + (y - pad_h) * iy + c0 + k + k0 * ix;
                int16_t *d = plane + (y - v0) * grow + k * rowh + pad_w + k0;
                int32_t n = xn - k0;
                if ((pad_w + k0) & 1) { /* the first value shares its word with the zero-point border */
                    *d++ = *s;
                    s += ix;
                    --n;
                }
                uint32_t *dw = (uint32_t *)(void *)d;
#if defined(HIL_DWP_ASM)
                if (8 * ix <= 4095) { /* 8 values a step, 17 instructions (gcc's loop: 20) */
                    for (; n >= 8; n -= 8) {
                        HIL_DWP_WIDEN8(s, dw, ix);
                    }
                }
#endif
                HIL_OPT_UNROLL
                for (; n >= 2; n -= 2, s += 2 * ix) {
                    *dw++ = hil_dw_pack16(s[0], s[ix]);
                }
                if (n > 0) {
                    *(int16_t *)(void *)dw = *s;
                }
                }
            }
            HIL_OPT_BARRIER(); /* the planes' stores before their loads */
            for (int32_t k = 0; k < G; ++k) {
            const int32_t c = c0 + k;
            const uint32_t *q = qs + 6 * c;
            const int16_t *plane_k = plane + k * rowh;
            const int32_t bias = (int32_t)q[3], m = (int32_t)q[4], rs = (int32_t)q[5];
#if defined(HIL_DWP_ASM)
            {
                /* per row: steps of 6 and 4 outputs, then one of nr = 3, 2 or 1; pp has moved
                 * on by adv bytes */
                const int32_t nh = 5 * OS <= 4095 ? out_w / 6 : 0;
                const int32_t nq = (out_w - 6 * nh) / 4, nr = (out_w - 6 * nh) % 4;
                const int32_t adv = sw == 2 ? 24 * nh + 16 * nq + 4 * nr
                                            : 12 * nh + 8 * nq + (nr == 3 ? 8 : nr > 0 ? 4 : 0);
                const int32_t dpp = 4 * sh * G * npair - adv;
                const uint32_t *pp = (const uint32_t *)(const void *)plane_k;
                int8_t *o = out_b + c;
                _Pragma("GCC unroll 3") /* gcc keeps it a loop: 10 instructions a row instead of 5 */
                for (int32_t r = 0; r < 3; ++r) {
                    wt[2 * r] = hil_dwp_wa(q[r], dbl);
                    wt[2 * r + 1] = hil_dwp_wb(q[r], dbl);
                }
                wt[6] = q[3];
                wt[9] = (uint32_t)m; /* the requantization's multiplier and addend (HIL_DWP_MK) */
                wt[10] = dbl ? (uint32_t)hil_opt_rq30_k(p->out_off, rs) : 0x40000000u;
                if (G > 1) {
                    wt[7] = (uint32_t)(uintptr_t)(plane_k + nb * sh * grow);
                }
                uint32_t s0_, s1_, s2_, s3_, s4_, s5_, t_, x_, wa_, wb_;
                int32_t rsn = rs + (nh > 1 ? (nh - 1) * 256 : nq > 1 ? (nq - 1) * 256 : 0);
                HIL_DWP_CHANNEL();
                (void)s1_;
                (void)s2_;
                (void)s3_;
                (void)s4_;
                (void)s5_;
                (void)bias;
            }
#else
            /* Wa, Wb of the 3 kernel rows and the bias */
            const uint32_t wt[7] = {hil_dwp_wa(q[0], dbl), hil_dwp_wb(q[0], dbl), hil_dwp_wa(q[1], dbl),
                                    hil_dwp_wb(q[1], dbl), hil_dwp_wa(q[2], dbl), hil_dwp_wb(q[2], dbl), q[3]};
            for (int32_t oy = 0; oy < nb; ++oy) {
                const uint32_t *r0 = (const uint32_t *)(const void *)(plane_k + oy * sh * grow);
                int8_t *o = out_b + oy * oys + c;
                int32_t ox = 0;
                const uint32_t *r1 = r0 + G * npair, *r2 = r0 + 2 * G * npair;
                uint32_t x0 = r0[0], x1 = r1[0], x2 = r2[0];
                for (; sw == 1 && ox + 2 <= out_w; ox += 2, o += 2 * OS) {
                    const int32_t j = ox / 2 + 1;
                    const uint32_t n0 = r0[j], n1 = r1[j], n2 = r2[j];
                    int32_t s0 = hil_smlad(x0, wt[0], bias), s1 = hil_dw_smlatb(x0, wt[0], bias);
                    s0 = hil_smlabb(n0, wt[1], s0);
                    s1 = hil_dw_smladx(n0, wt[1], s1);
                    s0 = hil_smlad(x1, wt[2], s0);
                    s1 = hil_dw_smlatb(x1, wt[2], s1);
                    s0 = hil_smlabb(n1, wt[3], s0);
                    s1 = hil_dw_smladx(n1, wt[3], s1);
                    s0 = hil_smlad(x2, wt[4], s0);
                    s1 = hil_dw_smlatb(x2, wt[4], s1);
                    s0 = hil_smlabb(n2, wt[5], s0);
                    s1 = hil_dw_smladx(n2, wt[5], s1);
                    o[0] = hil_dwp_out(p, s0, m, rs);
                    o[OS] = hil_dwp_out(p, s1, m, rs);
                    x0 = n0;
                    x1 = n1;
                    x2 = n2;
                }
                for (; ox < out_w; ++ox, o += OS) { /* stride 2, or stride 1's odd last output */
                    const int32_t j = sw == 1 ? ox / 2 : ox;
                    const uint32_t a0 = r0[j], a1 = r1[j], a2 = r2[j];
                    const uint32_t n0 = r0[j + 1], n1 = r1[j + 1], n2 = r2[j + 1];
                    int32_t s0 = hil_smlad(a0, wt[0], bias);
                    s0 = hil_smlabb(n0, wt[1], s0);
                    s0 = hil_smlad(a1, wt[2], s0);
                    s0 = hil_smlabb(n1, wt[3], s0);
                    s0 = hil_smlad(a2, wt[4], s0);
                    s0 = hil_smlabb(n2, wt[5], s0);
                    o[0] = hil_dwp_out(p, s0, m, rs);
                }
            }
#endif
            }
            HIL_OPT_BARRIER(); /* this group's outputs before the next planes' loads (in place) */
            }
        }
    }
}

#endif /* HIL_OPT_DSP_DWP_H */
