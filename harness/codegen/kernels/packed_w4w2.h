/* Packed sub-byte weights: int8 activations x 4-bit or 2-bit weight codes (CONV_2D,
 * DEPTHWISE_CONV_2D, FULLY_CONNECTED).
 *
 * Flash holds the filter as codes, packed in the TFLite layout order (OHWI, 1HWC or [out, in])
 * by harness.quant.packing: element i sits in byte i / k at bit (i % k) * bits, k = 8 / bits,
 * two's complement (int4 -8..7, int2 -2..1). The int8 weight TFLM uses is code * step[c] for
 * output channel c, with an integer step, so
 *     sum((x + in_off) * w) = step[c] * sum((x + in_off) * code)
 * exactly (also modulo 2^32): the kernels accumulate code products and multiply once per output,
 * then requantize as the int8 kernels do. Bit-exact with TFLM on the int8 model. */
#ifndef HIL_PACKED_W4W2_H
#define HIL_PACKED_W4W2_H

#include <stdint.h>
#include <string.h>

#include "hil_fixedpoint.h"

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_h, pad_w;          /* top / left padding */
    int32_t depth_multiplier;      /* depthwise only */
    int32_t input_offset;          /* -input zero point */
    int32_t output_offset;         /* output zero point */
    int32_t act_min, act_max;
    int32_t per_channel;           /* 1: mult/shift per output channel, 0: entry 0 */
    int32_t per_channel_step;      /* 1: step per output channel, 0: step[0] for all */
} hil_conv_pk_params_t;

typedef struct {
    int32_t batches;
    int32_t in_depth, out_depth;
    int32_t input_offset;          /* -input zero point */
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;
    int32_t per_channel_step;
} hil_fc_pk_params_t;

/* Arguments common to all: `codes` packed filter, `step` int8 weight = code * step,
 * `bias` the model's bias (may be NULL), `bias_eff` = bias + input_offset * sum(int8 weights).
 * Convolution: `scratch` is 3 * k_h * k_w * in_c bytes (two channels' codes, or one gathered window). */
void hil_conv_s8w4(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                   const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *scratch, int8_t *out);
void hil_conv_s8w2(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                   const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *scratch, int8_t *out);
void hil_dwconv_s8w4(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                     const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                     int8_t *out);
void hil_dwconv_s8w2(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                     const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                     int8_t *out);
void hil_fc_s8w4(const hil_fc_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                 const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *out);
void hil_fc_s8w2(const hil_fc_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                 const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *out);

/* Loops called from the convolution's loop nest stay out of line (see hil_pk_dot2x2). */
#define HIL_PK_FN static __attribute__((noinline, unused))

/* Code i of a packed stream (sign-extended with an arithmetic shift of the top bits). */
static inline int32_t hil_w4_get(const uint8_t *codes, int32_t i)
{
    const int32_t b = codes[i >> 1];
    return (int32_t)(int8_t)(uint8_t)(b << (4 - ((i & 1) << 2))) >> 4;
}

static inline int32_t hil_w2_get(const uint8_t *codes, int32_t i)
{
    const int32_t b = codes[i >> 2];
    return (int32_t)(int8_t)(uint8_t)(b << (6 - ((i & 3) << 1))) >> 6;
}

/* codes e .. e+n-1 as int8 */
HIL_PK_FN void hil_unpack_w4(const uint8_t *codes, int32_t e, int32_t n, int8_t *dst)
{
    int32_t j = 0;
    if ((e & 1) && n > 0) {
        dst[j++] = (int8_t)hil_w4_get(codes, e);
    }
    const uint8_t *w = codes + ((e + j) >> 1);
    for (; j + 2 <= n; j += 2, ++w) {
        const int32_t b = *w;
        dst[j] = (int8_t)((int32_t)(int8_t)(uint8_t)(b << 4) >> 4);
        dst[j + 1] = (int8_t)((int32_t)(int8_t)(uint8_t)b >> 4);
    }
    if (j < n) {
        dst[j] = (int8_t)((int32_t)(int8_t)(uint8_t)(*w << 4) >> 4);
    }
}

/* codes e .. e+n-1 as int8 */
HIL_PK_FN void hil_unpack_w2(const uint8_t *codes, int32_t e, int32_t n, int8_t *dst)
{
    int32_t j = 0;
    for (; ((e + j) & 3) && j < n; ++j) {
        dst[j] = (int8_t)hil_w2_get(codes, e + j);
    }
    const uint8_t *w = codes + ((e + j) >> 2);
    for (; j + 4 <= n; j += 4, ++w) {
        const int32_t b = *w;
        dst[j] = (int8_t)((int32_t)(int8_t)(uint8_t)(b << 6) >> 6);
        dst[j + 1] = (int8_t)((int32_t)(int8_t)(uint8_t)(b << 4) >> 6);
        dst[j + 2] = (int8_t)((int32_t)(int8_t)(uint8_t)(b << 2) >> 6);
        dst[j + 3] = (int8_t)((int32_t)(int8_t)(uint8_t)b >> 6);
    }
    for (int32_t k = 0; j < n; ++j, ++k) {
        dst[j] = (int8_t)((int32_t)(int8_t)(uint8_t)(*w << (6 - 2 * k)) >> 6);
    }
}

/* The SIMD loops below accumulate code * 16 (w4) or code * 64 (w2) products, at most 2^14 in
 * magnitude each; below this many taps per call the int32 sum cannot overflow, so the final
 * shift is exact. Longer runs take the scalar path. */
#define HIL_PK_SIMD_MAX_N 100000

/* sum(x[j] * code[e + j]) for j < n, 4-bit codes. */
HIL_PK_FN int32_t hil_dot_s8w4(const int8_t *x, const uint8_t *codes, int32_t e, int32_t n)
{
    int32_t acc = 0;
    if ((e & 1) && n > 0) {
        acc += (int32_t)x[0] * hil_w4_get(codes, e);
        ++x;
        ++e;
        --n;
    }
    const uint8_t *w = codes + (e >> 1);
#ifdef HIL_HAVE_SIMD32
    if (n < HIL_PK_SIMD_MAX_N) {
        int32_t acc16 = 0; /* sum of x * code * 16 */
        for (; n >= 4; n -= 4, x += 4, w += 2) {
            uint32_t wx;
            __builtin_memcpy(&wx, x, 4);
            const uint32_t v = (uint32_t)w[0] | ((uint32_t)w[1] << 8);
            const uint32_t u = v | (v << 8);      /* bytes: c0|c1, -, c2|c3, - (nibbles) */
            const int16x2_t x02 = __sxtb16((int8x4_t)wx);
            const int16x2_t x13 = __sxtb16((int8x4_t)((wx >> 8) | (wx << 24)));
            const int16x2_t c02 = __sxtb16((int8x4_t)((u << 4) & 0x00F000F0u)); /* 16*c0, 16*c2 */
            const int16x2_t c13 = __sxtb16((int8x4_t)(u & 0x00F000F0u));        /* 16*c1, 16*c3 */
            acc16 = __smlad(x02, c02, acc16);
            acc16 = __smlad(x13, c13, acc16);
        }
        acc += acc16 >> 4;
    }
#endif
    for (; n >= 2; n -= 2, x += 2, ++w) {
        const int32_t b = *w;
        acc += (int32_t)x[0] * ((int32_t)(int8_t)(uint8_t)(b << 4) >> 4);
        acc += (int32_t)x[1] * ((int32_t)(int8_t)(uint8_t)b >> 4);
    }
    if (n > 0) {
        acc += (int32_t)x[0] * ((int32_t)(int8_t)(uint8_t)(*w << 4) >> 4);
    }
    return acc;
}

/* sum(x[j] * code[e + j]) for j < n, 2-bit codes. */
HIL_PK_FN int32_t hil_dot_s8w2(const int8_t *x, const uint8_t *codes, int32_t e, int32_t n)
{
    int32_t acc = 0;
    for (; (e & 3) && n > 0; ++e, ++x, --n) {
        acc += (int32_t)x[0] * hil_w2_get(codes, e);
    }
    const uint8_t *w = codes + (e >> 2);
#ifdef HIL_HAVE_SIMD32
    if (n < HIL_PK_SIMD_MAX_N) {
        int32_t acc64 = 0; /* sum of x * code * 64 */
        for (; n >= 4; n -= 4, x += 4, ++w) {
            uint32_t wx;
            __builtin_memcpy(&wx, x, 4);
            const uint32_t b = *w;
            /* b << 6 and b << 18 (or b << 4 and b << 16) do not overlap: the products are ORs */
            const int16x2_t c02 = __sxtb16((int8x4_t)((b * 0x00040040u) & 0x00C000C0u)); /* 64*c0, 64*c2 */
            const int16x2_t c13 = __sxtb16((int8x4_t)((b * 0x00010010u) & 0x00C000C0u)); /* 64*c1, 64*c3 */
            const int16x2_t x02 = __sxtb16((int8x4_t)wx);
            const int16x2_t x13 = __sxtb16((int8x4_t)((wx >> 8) | (wx << 24)));
            acc64 = __smlad(x02, c02, acc64);
            acc64 = __smlad(x13, c13, acc64);
        }
        acc += acc64 >> 6;
    }
#endif
    for (; n >= 4; n -= 4, x += 4, ++w) {
        const int32_t b = *w;
        acc += (int32_t)x[0] * ((int32_t)(int8_t)(uint8_t)(b << 6) >> 6);
        acc += (int32_t)x[1] * ((int32_t)(int8_t)(uint8_t)(b << 4) >> 6);
        acc += (int32_t)x[2] * ((int32_t)(int8_t)(uint8_t)(b << 2) >> 6);
        acc += (int32_t)x[3] * ((int32_t)(int8_t)(uint8_t)b >> 6);
    }
    for (int32_t j = 0; j < n; ++j) {
        acc += (int32_t)x[j] * ((int32_t)(int8_t)(uint8_t)(*w << (6 - 2 * j)) >> 6);
    }
    return acc;
}

/* Register block of the packed convolution: 2 pixels x 2 channels on SIMD32 cores (every loaded
 * input word serves two channels and every weight word two pixels); 1 pixel x 2 channels on
 * v6-M, whose eight low registers hold no more accumulators and pointers. */
#define HIL_PK_CH 2
#ifdef HIL_HAVE_SIMD32
#define HIL_PK_PX 2
#else
#define HIL_PK_PX 1
#endif

/* sum(x[i] * w[i]) of pixels (xa, xb) against channels (w0, w1) into acc[2 * pixel + channel]
 * (pixel xb only when HIL_PK_PX is 2). */
static inline __attribute__((always_inline)) void hil_pk_dot2x2(const int8_t *xa, const int8_t *xb, const int8_t *w0,
                                                                  const int8_t *w1, int32_t n, int32_t acc[4])
{
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0; /* pixel, channel */
#ifdef HIL_HAVE_SIMD32
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t va, vb, v0, v1;
        __builtin_memcpy(&va, xa + i, 4);
        __builtin_memcpy(&vb, xb + i, 4);
        const int16x2_t a02 = __sxtb16((int8x4_t)va), a13 = __sxtb16((int8x4_t)((va >> 8) | (va << 24)));
        const int16x2_t b02 = __sxtb16((int8x4_t)vb), b13 = __sxtb16((int8x4_t)((vb >> 8) | (vb << 24)));
        __builtin_memcpy(&v0, w0 + i, 4);
        int16x2_t c02 = __sxtb16((int8x4_t)v0), c13 = __sxtb16((int8x4_t)((v0 >> 8) | (v0 << 24)));
        a00 = __smlad(a02, c02, __smlad(a13, c13, a00));
        a10 = __smlad(b02, c02, __smlad(b13, c13, a10));
        __builtin_memcpy(&v1, w1 + i, 4);
        c02 = __sxtb16((int8x4_t)v1);
        c13 = __sxtb16((int8x4_t)((v1 >> 8) | (v1 << 24)));
        a01 = __smlad(a02, c02, __smlad(a13, c13, a01));
        a11 = __smlad(b02, c02, __smlad(b13, c13, a11));
    }
    for (; i < n; ++i) {
        const int32_t xa_i = xa[i], xb_i = xb[i], w0_i = w0[i], w1_i = w1[i];
        a00 += xa_i * w0_i;
        a01 += xa_i * w1_i;
        a10 += xb_i * w0_i;
        a11 += xb_i * w1_i;
    }
#else
    (void)xb;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t x = xa[i];
        a00 += x * w0[i];
        a01 += x * w1[i];
    }
#endif
    acc[0] += a00;
    acc[1] += a01;
    acc[2] += a10;
    acc[3] += a11;
}

/* One output value: TFLM's requantization of base + step * code sum (int32 wrap-around, as the
 * int8 sum would wrap). */
static inline int8_t hil_pk_out(const hil_conv_pk_params_t *p, int32_t base, int32_t s, int32_t sum, int32_t m,
                                int32_t sh)
{
    const int32_t a = (int32_t)((uint32_t)base + (uint32_t)s * (uint32_t)sum);
    return (int8_t)hil_clamp_i32(hil_mbqm(a, m, sh) + p->output_offset, p->act_min, p->act_max);
}

/* One output row of interior pixels [ox_lo, ox_hi) for channels oc .. oc + nc - 1 (codes w0, w1):
 * windows of k_h filter rows of n_seg contiguous runs of `seg` values, then requantization.
 * Inlined into hil_pk_interior only: inside the bigger loop nest GCC spilled the loop registers
 * (measured on v6-M: 20 instructions per MAC instead of 7). */
static inline __attribute__((always_inline)) void hil_pk_row(const hil_conv_pk_params_t *p, const int8_t *row_in,
                                                  const int8_t *w0, const int8_t *w1, int32_t oc, int32_t nc,
                                                  const int16_t *step, const int32_t *bias_eff,
                                                  const int32_t *mult, const int32_t *shift, int8_t *o_row,
                                                  int32_t ox_lo, int32_t ox_hi)
{
    const int32_t in_c = p->in_c, k_h = p->k_h, out_c = p->out_c;
    const int32_t n_seg = p->dil_w == 1 ? 1 : p->k_w, seg = p->dil_w == 1 ? p->k_w * in_c : in_c;
    const int32_t dy = p->dil_h * p->in_w * in_c, dx = p->dil_w * in_c, x_step = p->stride_w * in_c;
    const int8_t *pa = row_in + (ox_lo * p->stride_w - p->pad_w) * in_c;
    int8_t *o = o_row + ox_lo * out_c;
#ifndef HIL_HAVE_SIMD32
    /* v6-M: the channels' constants in locals (on DSP cores the 2x2 block needs the registers,
     * and spilling them would grow the stack frame; they are reloaded per output there) */
    const int32_t c1 = oc + nc - 1, q0 = p->per_channel ? oc : 0, q1 = p->per_channel ? c1 : 0;
    const int32_t be0 = bias_eff[oc], be1 = bias_eff[c1];
    const int32_t s0 = step[p->per_channel_step ? oc : 0], s1 = step[p->per_channel_step ? c1 : 0];
#endif
    for (int32_t ox = ox_lo; ox < ox_hi; ox += HIL_PK_PX, pa += HIL_PK_PX * x_step) {
        const int32_t npx = ox + 1 < ox_hi ? HIL_PK_PX : 1;
        const int8_t *pb = npx == 2 ? pa + x_step : pa;
        int32_t acc[4] = {0, 0, 0, 0}; /* pixel ox: [0], [1]; pixel ox + 1: [2], [3] */
        const int8_t *qa = pa, *qb = pb, *v0 = w0, *v1 = w1;
        for (int32_t ky = 0; ky < k_h; ++ky, qa += dy, qb += dy) {
            for (int32_t g = 0; g < n_seg; ++g, v0 += seg, v1 += seg) {
                hil_pk_dot2x2(qa + g * dx, qb + g * dx, v0, v1, seg, acc);
            }
        }
        for (int32_t k = 0; k < npx; ++k, o += out_c) {
#ifndef HIL_HAVE_SIMD32
            o[0] = hil_pk_out(p, be0, s0, acc[2 * k], mult[q0], shift[q0]);
            if (nc == 2) {
                o[1] = hil_pk_out(p, be1, s1, acc[2 * k + 1], mult[q1], shift[q1]);
            }
#else
            for (int32_t j = 0; j < nc; ++j) {
                const int32_t c = oc + j, q = p->per_channel ? c : 0;
                o[j] = hil_pk_out(p, bias_eff[c], step[p->per_channel_step ? c : 0], acc[2 * k + j], mult[q], shift[q]);
            }
#endif
        }
    }
}

typedef void (*hil_pk_unpack_fn)(const uint8_t *codes, int32_t e, int32_t n, int8_t *dst);
typedef int32_t (*hil_pk_dot_fn)(const int8_t *x, const uint8_t *codes, int32_t e, int32_t n);

/* Interior of the output: columns [r[0], r[1]) and rows [r[2], r[3]) whose windows lie inside
 * the input. */
static inline void hil_pk_range(const hil_conv_pk_params_t *p, int32_t r[4])
{
    r[0] = 0;
    r[1] = p->out_w;
    r[2] = 0;
    r[3] = p->out_h;
    while (r[0] < p->out_w && r[0] * p->stride_w - p->pad_w < 0) {
        ++r[0];
    }
    while (r[1] > r[0] && (r[1] - 1) * p->stride_w - p->pad_w + (p->k_w - 1) * p->dil_w >= p->in_w) {
        --r[1];
    }
    while (r[2] < p->out_h && r[2] * p->stride_h - p->pad_h < 0) {
        ++r[2];
    }
    while (r[3] > r[2] && (r[3] - 1) * p->stride_h - p->pad_h + (p->k_h - 1) * p->dil_h >= p->in_h) {
        --r[3];
    }
}

/* Border pixels of one batch (windows reaching outside the input): gather the window into `col` with the input zero point for taps outside
 * the input (which then contribute nothing against bias_eff), then dot it with every channel's
 * packed codes. Out of line so its frame does not stack on the interior loops' frames. */
static __attribute__((noinline)) void hil_pk_border(const hil_conv_pk_params_t *p, const int8_t *in_b, int8_t *out_b,
                                                     const uint8_t *codes, const int16_t *step,
                                                     const int32_t *bias_eff, const int32_t *mult,
                                                     const int32_t *shift, int8_t *col, hil_pk_dot_fn dot)
{
    int32_t r[4];
    hil_pk_range(p, r);
    const int32_t ox_lo = r[0], ox_hi = r[1], oy_lo = r[2], oy_hi = r[3];
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t w_size = p->k_h * p->k_w * in_c;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int row_inside = oy >= oy_lo && oy < oy_hi;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            if (row_inside && ox >= ox_lo && ox < ox_hi) {
                ox = ox_hi - 1;
                continue;
            }
            const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
            int8_t *c = col;
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int32_t iy = y0 + ky * p->dil_h;
                for (int32_t kx = 0; kx < p->k_w; ++kx, c += in_c) {
                    const int32_t ix = x0 + kx * p->dil_w;
                    if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) {
                        for (int32_t k = 0; k < in_c; ++k) {
                            c[k] = (int8_t)(-p->input_offset);
                        }
                    } else {
                        const int8_t *src = in_b + (iy * in_w + ix) * in_c;
                        for (int32_t k = 0; k < in_c; ++k) {
                            c[k] = src[k];
                        }
                    }
                }
            }
            int8_t *o = out_b + (oy * p->out_w + ox) * out_c;
            for (int32_t oc = 0; oc < out_c; ++oc) {
                const int32_t q = p->per_channel ? oc : 0;
                const int32_t sum = dot(col, codes, oc * w_size, w_size);
                o[oc] = hil_pk_out(p, bias_eff[oc], step[p->per_channel_step ? oc : 0], sum, mult[q], shift[q]);
            }
        }
    }
}

/* Interior pixels of one batch, output channel pairs outermost: the pair's codes are unpacked
 * into `scratch`, then each interior output row is one hil_pk_row call. Out of line, with `p`
 * read in place, to keep the stack frames under the kernel small. */
static __attribute__((noinline)) void hil_pk_interior(const hil_conv_pk_params_t *p, const int8_t *in_b,
                                                       int8_t *out_b, const uint8_t *codes, const int16_t *step,
                                                       const int32_t *bias_eff, const int32_t *mult,
                                                       const int32_t *shift, int8_t *scratch,
                                                       hil_pk_unpack_fn unpack)
{
    int32_t range[4];
    hil_pk_range(p, range);
    if (range[0] >= range[1] || range[2] >= range[3]) {
        return;
    }
    const int32_t w_size = p->k_h * p->k_w * p->in_c;
    for (int32_t oc = 0; oc < p->out_c; oc += HIL_PK_CH) {
        const int32_t nc = p->out_c - oc >= HIL_PK_CH ? HIL_PK_CH : 1;
        unpack(codes, oc * w_size, nc * w_size, scratch);
        for (int32_t oy = range[2]; oy < range[3]; ++oy) {
            hil_pk_row(p, in_b + (oy * p->stride_h - p->pad_h) * p->in_w * p->in_c, scratch,
                       scratch + (nc - 1) * w_size, oc, nc, step, bias_eff, mult, shift,
                       out_b + oy * p->out_w * p->out_c + oc, range[0], range[1]);
        }
    }
}

/* The packed convolution, shared by the 4- and 2-bit kernels (which differ only in `unpack` and
 * `dot`). Every window sums x * code over all its taps and starts from bias_eff (the input zero
 * point folded in), so windows are just dot products:
 * - pixels whose windows lie inside the input: output channels go in pairs; the pair's codes
 *   (2 * k_h * k_w * in_c, contiguous in OHWI) are unpacked once into `scratch` and every such
 *   pixel reuses them (register blocks: HIL_PK_PX pixels x HIL_PK_CH channels);
 * - border pixels: the window is gathered once into `scratch` and dotted with each channel's
 *   packed codes straight from flash.
 * `scratch`: 3 * k_h * k_w * in_c bytes. */
static inline void hil_pk_conv(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes,
                               const int16_t *step, const int32_t *bias_eff, const int32_t *mult,
                               const int32_t *shift, int8_t *scratch, int8_t *out, hil_pk_unpack_fn unpack,
                               hil_pk_dot_fn dot)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = in + b * p->in_h * p->in_w * p->in_c;
        int8_t *out_b = out + b * p->out_h * p->out_w * p->out_c;
        hil_pk_interior(p, in_b, out_b, codes, step, bias_eff, mult, shift, scratch, unpack);
        hil_pk_border(p, in_b, out_b, codes, step, bias_eff, mult, shift, scratch, dot);
    }
}

/* The packed fully connected layer, shared by the 4- and 2-bit kernels (they differ only in
 * `dot`): acc = bias_eff[o] + step[o] * sum(x * code[o]), then TFLM's double rounding. */
static inline void hil_pk_fc(const hil_fc_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                             const int32_t *bias_eff, const int32_t *mult, const int32_t *shift, int8_t *out,
                             hil_pk_dot_fn dot)
{
    const int32_t depth = p->in_depth, units = p->out_depth;
    const int32_t out_off = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    const int32_t per_channel = p->per_channel, per_channel_step = p->per_channel_step;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = in + b * depth;
        for (int32_t o = 0; o < units; ++o) {
            const int32_t sum = dot(x, codes, o * depth, depth);
            const int32_t s = step[per_channel_step ? o : 0];
            const int32_t acc = (int32_t)((uint32_t)bias_eff[o] + (uint32_t)s * (uint32_t)sum);
            const int32_t q = per_channel ? o : 0;
            const int32_t v = hil_mbqm(acc, mult[q], shift[q]) + out_off;
            *out++ = (int8_t)hil_clamp_i32(v, act_min, act_max);
        }
    }
}

#endif /* HIL_PACKED_W4W2_H */
