/* nRF51 TIMER (32-bit mode, prescaler 0 = 16 MHz) read through a capture task, extended to 64
 * bits by watching the value: a reading smaller than the one before means one wrap in between.
 * Compare events at 0 and at half the period (CC[1], CC[2]) only make sure the value is looked
 * at least every half period; they are never counted themselves, because QEMU's model raised a
 * wrap's compare event twice (seen as one inference counted exactly 2^32 ticks too high, twice in
 * three full suite runs, digits fp32 on m0plus). QEMU derives the count from the virtual clock,
 * so it is exact under -icount. */
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
#define TIMER_COMPARE2 HIL_REG32(HIL_COUNTER_BASE + 0x148u) /* EVENTS_COMPARE[2] */
#define TIMER_CC2 HIL_REG32(HIL_COUNTER_BASE + 0x548u)
#define INT_COMPARE1 (1u << 17)
#define INT_COMPARE2 (1u << 18)

static volatile uint32_t wraps, last;

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

/* One look at the value (interrupts masked): count a wrap when it went down. A look more than
 * three quarters of a period after the one before means interrupts were masked that long, so a
 * whole wrap may have passed unseen. */
static uint64_t observe(void) {
    uint32_t v = low();
    if (v - last >= 0xC0000000u) hil_counter_unsure = 1u;
    if (v < last) wraps++;
    last = v;
    return ((uint64_t)wraps << 32) | v;
}

void hil_counter_init(void) {
    TIMER_STOP = 1u;
    TIMER_MODE = 0u;      /* timer */
    TIMER_BITMODE = 3u;   /* 32 bit */
    TIMER_PRESCALER = 0u; /* 16 MHz */
    TIMER_CLEAR = 1u;
    TIMER_START = 1u;
    hil_nvic_claim(raise_once, lower);
    TIMER_CC1 = 0u;          /* the wrap */
    TIMER_CC2 = 0x80000000u; /* half a period later */
    clear_event();
    TIMER_COMPARE2 = 0u;
    last = low();
    TIMER_INTENSET = INT_COMPARE1 | INT_COMPARE2;
}

int hil_counter_irq(void) {
    if (!(TIMER_COMPARE1 & 1u) && !(TIMER_COMPARE2 & 1u)) return 0;
    TIMER_COMPARE1 = 0u;
    TIMER_COMPARE2 = 0u;
    (void)observe();
    return 1;
}

uint64_t hil_counter_now(void) {
    uint32_t primask = hil_irq_mask();
    uint64_t now = observe();
    hil_irq_restore(primask);
    return now;
}
