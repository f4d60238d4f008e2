/* int8 max pool: maximum of the in-bounds window, then the fused-activation clamp. */
#include "pool_q.h"
#define HIL_POOL_NAME hil_maxpool_s8
#define HIL_POOL_T int8_t
#define HIL_POOL_ACC int32_t
#define HIL_POOL_INIT (-128)
#define HIL_POOL_STEP HIL_POOL_MAX
#define HIL_POOL_OUT(acc, count) ((int8_t)hil_clamp_i32((acc), p->act_min, p->act_max))
#include "pool_body.inc"
