/* DWT cycle counter (real Cortex-M3/M4/M7/M33 only: QEMU reads it as 0). */
#include "hil.h"

#define DEMCR HIL_REG32(0xE000EDFCu)
#define DWT_CTRL HIL_REG32(0xE0001000u)
#define DWT_CYCCNT HIL_REG32(0xE0001004u)
#define DWT_LAR HIL_REG32(0xE0001FB0u)

void hil_counter_init(void) {
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_LAR = 0xC5ACCE55u; /* unlock on parts that have a lock (ignored elsewhere) */
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u;
}

uint32_t hil_counter_now(void) { return DWT_CYCCNT; }
