/* nRF51 TIMER (32-bit mode, prescaler 0 = 16 MHz) read through a capture task, extended to 64
 * bits: compare register CC[1] = 0 raises an event (and interrupt) each time the counter wraps
 * to 0. QEMU's model derives the count from the virtual clock, so it is exact under -icount. */
#include "hil_counter.h"

#if HIL_COUNTER_BASE == 0
#undef HIL_COUNTER_BASE
#define HIL_COUNTER_BASE 0x40008000u /* TIMER0 */
#endif

#define TIMER_START HIL_REG32(HIL_COUNTER_BASE + 0x000u)
#define TIMER_STOP HIL_REG32(HIL_COUNTER_BASE + 0x004u)
#define TIMER_CLEAR HIL_REG32(HIL_COUNTER_BASE + 0x00Cu)
#define TIMER_CAPTURE0 HIL_REG32(HIL_COUNTER_BASE + 0x040u)
#define TIMER_COMPARE1 HIL_REG32(HIL_COUNTER_BASE + 0x144u) /* EVENTS_COMPARE[1] */
#define TIMER_INTENSET HIL_REG32(HIL_COUNTER_BASE + 0x304u)
#define TIMER_INTENCLR HIL_REG32(HIL_COUNTER_BASE + 0x308u)
#define TIMER_MODE HIL_REG32(HIL_COUNTER_BASE + 0x504u)
#define TIMER_BITMODE HIL_REG32(HIL_COUNTER_BASE + 0x508u)
#define TIMER_PRESCALER HIL_REG32(HIL_COUNTER_BASE + 0x510u)
#define TIMER_CC0 HIL_REG32(HIL_COUNTER_BASE + 0x540u)
#define TIMER_CC1 HIL_REG32(HIL_COUNTER_BASE + 0x544u)
#define INT_COMPARE1 (1u << 17)

static volatile uint32_t wraps;

static uint32_t low(void) {
    TIMER_CAPTURE0 = 1u;
    return TIMER_CC0;
}
static int pending(void) { return (int)(TIMER_COMPARE1 & 1u); }

/* The event must be cleared twice right after a CLEAR: QEMU's model sees "counter == CC" at
 * the next update as a compare, and the first clear is that update. */
static void clear_event(void) {
    TIMER_COMPARE1 = 0u;
    (void)low();
    TIMER_COMPARE1 = 0u;
}

/* A compare some hundred instructions ahead, to find the timer's NVIC line. */
static void raise_once(void) {
    TIMER_INTENSET = INT_COMPARE1;
    TIMER_CC1 = low() + 0x4000u;
    while (!pending()) {
    }
}

static void lower(void) {
    TIMER_INTENCLR = INT_COMPARE1;
    TIMER_COMPARE1 = 0u;
}

void hil_counter_init(void) {
    TIMER_STOP = 1u;
    TIMER_MODE = 0u;      /* timer */
    TIMER_BITMODE = 3u;   /* 32 bit */
    TIMER_PRESCALER = 0u; /* 16 MHz */
    TIMER_CLEAR = 1u;
    TIMER_START = 1u;
    hil_nvic_claim(raise_once, lower);
    TIMER_CC1 = 0u; /* the wrap */
    clear_event();
    TIMER_INTENSET = INT_COMPARE1;
}

int hil_counter_irq(void) {
    if (!pending()) return 0;
    TIMER_COMPARE1 = 0u;
    hil_counter_wrapped(&wraps, 32u, low());
    return 1;
}

uint64_t hil_counter_now(void) { return hil_counter_extend(&wraps, 32u, low, pending); }
