/* Cortex-M0/M0+ (ARMv6-M) matrix rows: an int8 input row or im2col window widened into kp
 * consecutive int32 (LDR with immediate offsets in the MAC loops), with sum(x) for the uint8
 * weights' + 128. Included by opt_v6m.h. */
#ifndef HIL_OPT_V6M_ROWS_H
#define HIL_OPT_V6M_ROWS_H

#include "opt_common.h"

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

/* n int8 values -> consecutive int32 of dst; returns their sum. -O2 v6-M: out of line (one copy
 * for the three callers; flash), the asm copy for the multiple of 8, then one at a time. */
#if defined(HIL_OPT_V6M_ASM)
__attribute__((noinline)) static int32_t hil_v6m_copyw(const int8_t *src, int32_t n, int32_t *dst)
#else
HIL_OPT_INL int32_t hil_v6m_copyw(const int8_t *src, int32_t n, int32_t *dst)
#endif
{
    int32_t sx = 0, i = 0;
#if defined(HIL_OPT_V6M_ASM)
    if (n >= 8) {
        i = n & ~7;
        sx = hil_v6m_copy8(src, i, dst, 1, 0);
        src += i;
        dst += i;
    }
#elif !defined(__OPTIMIZE_SIZE__)
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

#endif /* HIL_OPT_V6M_ROWS_H */
