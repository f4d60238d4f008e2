/* Selects the Cortex-M4/M7/M33 (DSP extension) variants of opt_s8.h. */
#ifndef HIL_OPT_DSP
#define HIL_OPT_DSP 1
#endif
#include "opt_s8.h"
