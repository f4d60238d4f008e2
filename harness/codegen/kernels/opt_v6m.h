/* Selects the Cortex-M0/M0+ (v6-M, no DSP) variants of opt_s8.h. */
#ifndef HIL_OPT_V6M
#define HIL_OPT_V6M 1
#endif
#include "opt_s8.h"
