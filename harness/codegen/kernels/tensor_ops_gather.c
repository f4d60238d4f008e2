/* GATHER and RESIZE_NEAREST_NEIGHBOR (index-map copies); see tensor_ops.h. */
#include "tensor_ops.h"

void hil_gather(const void *src, void *dst, const int32_t *indices, int32_t n_indices, int32_t outer,
                int32_t axis_dim, int32_t inner_bytes)
{
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    for (int32_t o = 0; o < outer; ++o) {
        for (int32_t k = 0; k < n_indices; ++k) {
            const int32_t j = indices[k];
            if (j >= 0 && j < axis_dim) {
                memcpy(d, s + ((int64_t)o * axis_dim + j) * inner_bytes, (size_t)inner_bytes);
            } else {
                memset(d, 0, (size_t)inner_bytes);
            }
            d += inner_bytes;
        }
    }
}

void hil_resize_nearest(const void *src, void *dst, const int32_t *ymap, const int32_t *xmap, int32_t batches,
                        int32_t out_h, int32_t out_w, int32_t in_h, int32_t in_w, int32_t depth_bytes)
{
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    for (int32_t b = 0; b < batches; ++b) {
        const uint8_t *sb = s + (size_t)b * in_h * in_w * depth_bytes;
        for (int32_t y = 0; y < out_h; ++y) {
            const uint8_t *row = sb + (size_t)ymap[y] * in_w * depth_bytes;
            for (int32_t x = 0; x < out_w; ++x) {
                memcpy(d, row + (size_t)xmap[x] * depth_bytes, (size_t)depth_bytes);
                d += depth_bytes;
            }
        }
    }
}
