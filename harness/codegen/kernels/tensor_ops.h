/* Data-movement kernels: one strided N-d copy serves PAD, CONCATENATION, SPLIT, STRIDED_SLICE,
 * SLICE, TRANSPOSE, PACK, UNPACK and GATHER; fills give PAD its border. Strides are in bytes,
 * so the same code moves int8, int16, int32 and float32 tensors. Written for this project.
 */
#ifndef HIL_TENSOR_OPS_H
#define HIL_TENSOR_OPS_H

#include <stdint.h>
#include <string.h>

#define HIL_COPY_MAX_DIMS 6

typedef struct {
    int32_t ndim;                          /* 0..6 outer dims around the contiguous run */
    int32_t count[HIL_COPY_MAX_DIMS];      /* iterations per dim */
    int32_t src_stride[HIL_COPY_MAX_DIMS]; /* bytes */
    int32_t dst_stride[HIL_COPY_MAX_DIMS]; /* bytes */
    int32_t run;                           /* contiguous bytes per innermost step */
} hil_copy_nd_t;

void hil_copy_nd(const hil_copy_nd_t *p, const void *src, void *dst);

void hil_fill_8(void *dst, int32_t n, int8_t value);
void hil_fill_16(void *dst, int32_t n, int16_t value);
void hil_fill_32(void *dst, int32_t n, uint32_t bits);

/* GATHER with int32 indices (constant or computed): out-of-range indices give zeros. */
void hil_gather(const void *src, void *dst, const int32_t *indices, int32_t n_indices, int32_t outer,
                int32_t axis_dim, int32_t inner_bytes);

/* RESIZE_NEAREST_NEIGHBOR on NHWC: input row/column of every output row/column precomputed. */
void hil_resize_nearest(const void *src, void *dst, const int32_t *ymap, const int32_t *xmap, int32_t batches,
                        int32_t out_h, int32_t out_w, int32_t in_h, int32_t in_w, int32_t depth_bytes);

/* ARG_MAX / ARG_MIN along one axis (outer x axis x inner); ties keep the first index. */
void hil_argmax_s8(const int8_t *in, int32_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t is_max);
void hil_argmax_s16(const int16_t *in, int32_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t is_max);
void hil_argmax_f32(const float *in, int32_t *out, int32_t outer, int32_t axis, int32_t inner, int32_t is_max);

#endif /* HIL_TENSOR_OPS_H */
