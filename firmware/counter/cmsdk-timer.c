/* CMSDK APB timer as a free-running 32-bit up-counter (the timer counts down from RELOAD;
 * we return its complement). Under QEMU -icount it ticks on the virtual clock, i.e. exactly
 * 2^shift * hz / 1e9 ticks per instruction. */
#include "hil.h"

#define TIMER_CTRL HIL_REG32(HIL_COUNTER_BASE + 0x0u)
#define TIMER_VALUE HIL_REG32(HIL_COUNTER_BASE + 0x4u)
#define TIMER_RELOAD HIL_REG32(HIL_COUNTER_BASE + 0x8u)

void hil_counter_init(void) {
    TIMER_CTRL = 0u;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = 1u; /* enable, system clock, no interrupt */
}

uint32_t hil_counter_now(void) { return ~TIMER_VALUE; }
