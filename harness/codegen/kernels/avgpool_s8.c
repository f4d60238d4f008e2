/* int8 average pool: mean of the in-bounds window, rounded half away from zero (TFLM's integer rule). */
#include "pool_q.h"
#define HIL_POOL_NAME hil_avgpool_s8
#define HIL_POOL_T int8_t
#define HIL_POOL_ACC int32_t
#define HIL_POOL_INIT 0
#define HIL_POOL_STEP HIL_POOL_SUM
#define HIL_POOL_OUT(acc, count) ((int8_t)hil_clamp_i32(HIL_POOL_MEAN(acc, count), p->act_min, p->act_max))
#include "pool_body.inc"
