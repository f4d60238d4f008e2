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
 * Convolution: `scratch` holds one output channel's codes unpacked (k_h * k_w * in_c bytes), or
 * is NULL (slower: codes read from flash per tap). */
void hil_conv_s8w4(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                   const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                   int8_t *scratch, int8_t *out);
void hil_conv_s8w2(const hil_conv_pk_params_t *p, const int8_t *in, const uint8_t *codes, const int16_t *step,
                   const int32_t *bias, const int32_t *bias_eff, const int32_t *mult, const int32_t *shift,
                   int8_t *scratch, int8_t *out);
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
static inline void hil_unpack_w4(const uint8_t *codes, int32_t e, int32_t n, int8_t *dst)
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
static inline void hil_unpack_w2(const uint8_t *codes, int32_t e, int32_t n, int8_t *dst)
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
static inline int32_t hil_dot_s8w4(const int8_t *x, const uint8_t *codes, int32_t e, int32_t n)
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
static inline int32_t hil_dot_s8w2(const int8_t *x, const uint8_t *codes, int32_t e, int32_t n)
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

#endif /* HIL_PACKED_W4W2_H */
