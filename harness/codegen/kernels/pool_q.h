/* The quantized pools' steps and results for pool_body.inc: TFLM's integer rules. */
#ifndef HIL_POOL_Q_H
#define HIL_POOL_Q_H
#include "hil_fixedpoint.h"

#define HIL_POOL_SUM(acc, v) ((acc) += (v))
#define HIL_POOL_MAX(acc, v) ((acc) = hil_max_i32((acc), (v)))

/* the window mean rounded half away from zero (average pool), an expression: as a function call
 * gcc -Os kept it out of line (+25 instructions a channel) */
#define HIL_POOL_MEAN(acc, count)                                                                  \
    ((count) > 0 ? ((acc) > 0 ? ((acc) + (count) / 2) / (count) : ((acc) - (count) / 2) / (count)) : (acc))
#endif /* HIL_POOL_Q_H */
