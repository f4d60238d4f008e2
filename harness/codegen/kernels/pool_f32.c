/* float32 average and max pooling (pool_body.h). */
/* Keep a*b+c as two roundings (no fused multiply-add), as the TFLM reference build does, so
 * float outputs on FPU cores match the host runtime. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "pooling.h"

static float hil_pool_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#define HIL_POOL_NAME hil_avgpool_f32
#define HIL_POOL_T float
#define HIL_POOL_ACC float
#define HIL_POOL_INIT 0.0f
#define HIL_POOL_STEP(acc, v) ((acc) += (v))
#define HIL_POOL_OUT(acc, count) hil_pool_clampf((acc) / (float)(count), p->act_min_f, p->act_max_f)
#include "pool_body.inc"

#define HIL_POOL_NAME hil_maxpool_f32
#define HIL_POOL_T float
#define HIL_POOL_ACC float
#define HIL_POOL_INIT (-3.402823466e+38f)
#define HIL_POOL_STEP(acc, v) ((acc) = (v) > (acc) ? (v) : (acc))
#define HIL_POOL_OUT(acc, count) hil_pool_clampf((acc), p->act_min_f, p->act_max_f)
#include "pool_body.inc"
