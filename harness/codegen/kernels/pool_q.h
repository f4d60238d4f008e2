/* The quantized pools' steps and results for pool_body.h: TFLM's integer rules. */
#ifndef HIL_POOL_Q_H
#define HIL_POOL_Q_H
#include "hil_fixedpoint.h"

#define HIL_POOL_SUM(acc, v) ((acc) += (v))
#define HIL_POOL_MAX(acc, v) ((acc) = hil_max_i32((acc), (v)))

/* the window mean rounded half away from zero, clamped (average pool) */
static inline int32_t hil_pool_mean_q(int32_t acc, int32_t count, int32_t lo, int32_t hi)
{
    if (count > 0) {
        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    }
    return hil_clamp_i32(acc, lo, hi);
}
#endif /* HIL_POOL_Q_H */
