/* nRF51 TIMER (32-bit mode, prescaler 0 = 16 MHz) read through a capture task.
 * QEMU's model derives the count from the virtual clock, so it is exact under -icount. */
#include "hil.h"

#if HIL_COUNTER_BASE == 0
#undef HIL_COUNTER_BASE
#define HIL_COUNTER_BASE 0x40008000u /* TIMER0 */
#endif

#define TIMER_START HIL_REG32(HIL_COUNTER_BASE + 0x000u)
#define TIMER_STOP HIL_REG32(HIL_COUNTER_BASE + 0x004u)
#define TIMER_CLEAR HIL_REG32(HIL_COUNTER_BASE + 0x00Cu)
#define TIMER_CAPTURE0 HIL_REG32(HIL_COUNTER_BASE + 0x040u)
#define TIMER_MODE HIL_REG32(HIL_COUNTER_BASE + 0x504u)
#define TIMER_BITMODE HIL_REG32(HIL_COUNTER_BASE + 0x508u)
#define TIMER_PRESCALER HIL_REG32(HIL_COUNTER_BASE + 0x510u)
#define TIMER_CC0 HIL_REG32(HIL_COUNTER_BASE + 0x540u)

void hil_counter_init(void) {
    TIMER_STOP = 1u;
    TIMER_MODE = 0u;      /* timer */
    TIMER_BITMODE = 3u;   /* 32 bit */
    TIMER_PRESCALER = 0u; /* 16 MHz */
    TIMER_CLEAR = 1u;
    TIMER_START = 1u;
}

uint32_t hil_counter_now(void) {
    TIMER_CAPTURE0 = 1u;
    return TIMER_CC0;
}
