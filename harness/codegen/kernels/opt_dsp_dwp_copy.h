/* The plane copy's asm steps of hil_opt_dwp3_s8 (opt_dsp_dwp.h) at -O2 on the DSP cores: int8
 * input values (NHWC, IX bytes apart along a plane row) widened to int16-pair words. */
#ifndef HIL_OPT_DSP_DWP_COPY_H
#define HIL_OPT_DSP_DWP_COPY_H

#include <stdint.h>

/* 8 input values of one channel, IX bytes apart from S, to 4 int16-pair words at D; S and D move on */
#define HIL_DWP_WIDEN8(S, D, IX)                                                                   \
    do {                                                                                           \
        uint32_t a_, b_, c_;                                                                       \
        __asm__ volatile("ldrsb %[a], [%[s]]\n\t"                                                           \
                "ldrsb %[b], [%[s], %[x1]]\n\t"                                                    \
                "pkhbt %[a], %[a], %[b], lsl #16\n\t"                                              \
                "ldrsb %[b], [%[s], %[x2]]\n\t"                                                    \
                "ldrsb %[c], [%[s], %[x3]]\n\t"                                                    \
                "pkhbt %[b], %[b], %[c], lsl #16\n\t"                                              \
                "strd %[a], %[b], [%[d]], #8\n\t"                                                  \
                "ldrsb %[a], [%[s], %[x4]]\n\t"                                                    \
                "ldrsb %[b], [%[s], %[x5]]\n\t"                                                    \
                "pkhbt %[a], %[a], %[b], lsl #16\n\t"                                              \
                "ldrsb %[b], [%[s], %[x6]]\n\t"                                                    \
                "ldrsb %[c], [%[s], %[x7]]\n\t"                                                    \
                "pkhbt %[b], %[b], %[c], lsl #16\n\t"                                              \
                "strd %[a], %[b], [%[d]], #8\n\t"                                                  \
                "add %[s], %[s], %[x8]"                                                            \
                : [s] "+r"(S), [d] "+r"(D), [a] "=&r"(a_), [b] "=&r"(b_), [c] "=&r"(c_)             \
                : [x1] "i"(IX), [x2] "i"(2 * (IX)), [x3] "i"(3 * (IX)), [x4] "i"(4 * (IX)),         \
                  [x5] "i"(5 * (IX)), [x6] "i"(6 * (IX)), [x7] "i"(7 * (IX)), [x8] "i"(8 * (IX))    \
                : "memory");                                                                       \
    } while (0)
/* 4 pixels of 4 channels (a word each, IX bytes apart from S) to 2 int16-pair words per channel:
 * channel k's at D + k * R bytes (its plane row); S and D move on (20 instructions per 16 values;
 * 21 when 4 IX > 255) */
#define HIL_DWP_WIDEN4X4(S, D, IX, R)                                                              \
    do {                                                                                           \
        uint32_t a_, b_, c_, e_, x_, f_;                                                           \
        __asm__ volatile(".if %c[x4] <= 255\n\t" /* S moves on with the first load (post-index: 8 bits) */ \
                "ldr %[a], [%[s]], #%c[x4]\n\t"                                                    \
                "ldr %[b], [%[s], #-%c[x3]]\n\t"                                                   \
                "ldr %[c], [%[s], #-%c[x2]]\n\t"                                                   \
                "ldr %[e], [%[s], #-%c[x1]]\n\t"                                                   \
                ".else\n\t"                                                                        \
                "ldr %[a], [%[s]]\n\t"                                                             \
                "ldr %[b], [%[s], %[x1]]\n\t"                                                      \
                "ldr %[c], [%[s], %[x2]]\n\t"                                                      \
                "ldr %[e], [%[s], %[x3]]\n\t"                                                      \
                "add %[s], %[s], %[x4]\n\t"                                                        \
                ".endif\n\t"                                                                       \
                "pkhbt %[x], %[a], %[b], lsl #16\n\t"                                              \
                "pkhtb %[b], %[b], %[a], asr #16\n\t"                                              \
                "pkhbt %[a], %[c], %[e], lsl #16\n\t"                                              \
                "pkhtb %[e], %[e], %[c], asr #16\n\t"                                              \
                "sxtb16 %[c], %[x], ror #8\n\t"                                                    \
                "sxtb16 %[f], %[a], ror #8\n\t"                                                    \
                "strd %[c], %[f], [%[d], %[r1]]\n\t"                                               \
                "sxtb16 %[c], %[b]\n\t"                                                            \
                "sxtb16 %[f], %[e]\n\t"                                                            \
                "strd %[c], %[f], [%[d], %[r2]]\n\t"                                               \
                "sxtb16 %[c], %[b], ror #8\n\t"                                                    \
                "sxtb16 %[f], %[e], ror #8\n\t"                                                    \
                "strd %[c], %[f], [%[d], %[r3]]\n\t"                                               \
                "sxtb16 %[c], %[x]\n\t"                                                            \
                "sxtb16 %[f], %[a]\n\t"                                                            \
                "strd %[c], %[f], [%[d]], #8"   /* channel 0's last: D moves on */                  \
                : [s] "+r"(S), [d] "+r"(D), [a] "=&r"(a_), [b] "=&r"(b_), [c] "=&r"(c_), [e] "=&r"(e_), \
                  [x] "=&r"(x_), [f] "=&r"(f_)                                                     \
                : [x1] "i"(IX), [x2] "i"(2 * (IX)), [x3] "i"(3 * (IX)), [x4] "i"(4 * (IX)),         \
                  [r1] "i"(R), [r2] "i"(2 * (R)), [r3] "i"(3 * (R))                                \
                : "memory");                                                                       \
    } while (0)
/* The same for 2 pixels of 4 channels (one word of channel k's at D + k * R; 14 instructions) */
#define HIL_DWP_WIDEN4X2(S, D, IX, R)                                                              \
    do {                                                                                           \
        uint32_t a_, b_, c_;                                                                       \
        __asm__ volatile("ldr %[a], [%[s]]\n\t"                                                    \
                "ldr %[b], [%[s], %[x1]]\n\t"                                                      \
                "pkhbt %[c], %[a], %[b], lsl #16\n\t"                                              \
                "pkhtb %[b], %[b], %[a], asr #16\n\t"                                              \
                "sxtb16 %[a], %[c]\n\t"                                                            \
                "sxtb16 %[c], %[c], ror #8\n\t"                                                    \
                "str %[a], [%[d]]\n\t"                                                             \
                "str %[c], [%[d], %[r1]]\n\t"                                                      \
                "sxtb16 %[a], %[b]\n\t"                                                            \
                "sxtb16 %[b], %[b], ror #8\n\t"                                                    \
                "str %[a], [%[d], %[r2]]\n\t"                                                      \
                "str %[b], [%[d], %[r3]]\n\t"                                                      \
                "add %[s], %[s], %[x2]\n\t"                                                        \
                "add %[d], %[d], #4"                                                               \
                : [s] "+r"(S), [d] "+r"(D), [a] "=&r"(a_), [b] "=&r"(b_), [c] "=&r"(c_)             \
                : [x1] "i"(IX), [x2] "i"(2 * (IX)), [r1] "i"(R), [r2] "i"(2 * (R)), [r3] "i"(3 * (R)) \
                : "memory");                                                                       \
    } while (0)

#endif /* HIL_OPT_DSP_DWP_COPY_H */
