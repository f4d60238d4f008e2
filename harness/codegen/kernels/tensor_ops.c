/* Data-movement kernels: strided copy and fills; see tensor_ops.h. */
#include "tensor_ops.h"

void hil_copy_nd(const hil_copy_nd_t *p, const void *src, void *dst)
{
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    int32_t idx[HIL_COPY_MAX_DIMS] = {0};
    int32_t total = 1;
    for (int32_t k = 0; k < p->ndim; ++k) {
        total *= p->count[k];
    }
    for (int32_t i = 0; i < total; ++i) {
        memcpy(d, s, (size_t)p->run);
        for (int32_t k = p->ndim - 1; k >= 0; --k) {
            s += p->src_stride[k];
            d += p->dst_stride[k];
            if (++idx[k] < p->count[k]) {
                break;
            }
            s -= p->src_stride[k] * p->count[k];
            d -= p->dst_stride[k] * p->count[k];
            idx[k] = 0;
        }
    }
}

void hil_fill_8(void *dst, int32_t n, int8_t value)
{
    memset(dst, (uint8_t)value, (size_t)n);
}

void hil_fill_16(void *dst, int32_t n, int16_t value)
{
    int16_t *d = (int16_t *)dst;
    for (int32_t i = 0; i < n; ++i) {
        d[i] = value;
    }
}

void hil_fill_32(void *dst, int32_t n, uint32_t bits)
{
    uint32_t *d = (uint32_t *)dst;
    for (int32_t i = 0; i < n; ++i) {
        d[i] = bits;
    }
}
