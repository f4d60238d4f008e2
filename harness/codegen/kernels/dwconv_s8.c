/* int8 depthwise convolution (dwconv_body.inc). */
#define HIL_DW_NAME hil_dwconv_s8
#define HIL_DW_T int8_t
#define HIL_DW_ACC int32_t
#define HIL_DW_BIAS_ARGS const int32_t *bias, const int32_t *bias_eff
#define HIL_DW_INIT(oc) (inside ? bias_eff[oc] : (bias ? bias[oc] : 0))
#define HIL_DW_IN_OFF p->input_offset
#define HIL_DW_RQ(acc, q) hil_mbqm((acc), mult[q], shift[q])
#include "dwconv_body.inc"
