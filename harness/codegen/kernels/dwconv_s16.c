/* int16x8 depthwise convolution (dwconv_body.inc): 64-bit accumulators, reduced multiplier; the
 * int16 zero point is 0, so padding taps add nothing and every window starts from the bias. */
#define HIL_DW_NAME hil_dwconv_s16
#define HIL_DW_T int16_t
#define HIL_DW_ACC int64_t
#define HIL_DW_BIAS_ARGS const int64_t *bias
#define HIL_DW_INIT(oc) (bias ? bias[oc] : 0)
#define HIL_DW_IN_OFF 0
#define HIL_DW_RQ(acc, q) hil_mbqm64((acc), mult[q], shift[q])
#include "dwconv_body.inc"
