/* Included before opt_v6m.h when every int8 layer of the model keeps its accumulators below 2^20
 * (harness/codegen/optimized.py, v6m_rq_pieces): the v6-M split tables then hold 3 pieces of 11
 * bits (17 instructions an output) instead of 4 of 8 bits (21). */
#ifndef HIL_OPT_V6M_RQ3_H
#define HIL_OPT_V6M_RQ3_H
#define HIL_V6M_RQ3 1
#endif
