/* CMSDK APB timer as a free-running up-counter extended to 64 bits by its wrap interrupt. The
 * timer counts down from RELOAD to 0, interrupts on reaching 0, holds 0 for one tick and
 * reloads, so with RELOAD = 2^32 - 1 its period is 2^32 ticks and (~VALUE + 1) is an
 * up-counter that wraps exactly when the interrupt flag is set. Under QEMU -icount it ticks
 * on the virtual clock, i.e. exactly 2^shift * hz / 1e9 ticks per instruction. */
#include "hil_counter.h"

#define TIMER_CTRL HIL_REG32(HIL_COUNTER_BASE + 0x0u)
#define TIMER_VALUE HIL_REG32(HIL_COUNTER_BASE + 0x4u)
#define TIMER_RELOAD HIL_REG32(HIL_COUNTER_BASE + 0x8u)
#define TIMER_INTSTATUS HIL_REG32(HIL_COUNTER_BASE + 0xCu) /* write 1 to clear */
#define CTRL_ENABLE 1u
#define CTRL_IRQEN 8u

static volatile uint32_t wraps;

static uint32_t low(void) { return ~TIMER_VALUE + 1u; }
static int pending(void) { return (int)(TIMER_INTSTATUS & 1u); }

/* A short period, to find the timer's NVIC line. */
static void raise_once(void) {
    TIMER_CTRL = 0u;
    TIMER_INTSTATUS = 1u;
    TIMER_RELOAD = 64u;
    TIMER_VALUE = 64u;
    TIMER_CTRL = CTRL_ENABLE | CTRL_IRQEN;
    while (!pending()) {
    }
    TIMER_CTRL = 0u;
}

static void lower(void) { TIMER_INTSTATUS = 1u; }

void hil_counter_init(void) {
    hil_nvic_claim(raise_once, lower);
    TIMER_CTRL = 0u;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_INTSTATUS = 1u;
    TIMER_CTRL = CTRL_ENABLE | CTRL_IRQEN; /* system clock */
}

int hil_counter_irq(void) {
    if (!pending()) return 0;
    TIMER_INTSTATUS = 1u;
    hil_counter_wrapped(&wraps, 32u, low());
    return 1;
}

uint64_t hil_counter_now(void) { return hil_counter_extend(&wraps, 32u, low, pending); }
