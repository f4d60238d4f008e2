/* Clock bring-up shared by firmware/clock/<chip>.c: one hil_clock_init() per chip, called from
 * Reset_Handler before main (so the UART and counters start at the final clock).
 *
 * HIL_CLOCK_FULL (from the board file's [clock] source) selects the chip's full clock; 0 keeps
 * the reset clock. Register access goes through HIL_REG32 and every wait through hil_clock_wait,
 * so tests/test_clocks.py can build this code on the host against fake registers and check the
 * values and their order against the reference-manual equations in harness/clocks.py. */
#ifndef HIL_CLOCK_H
#define HIL_CLOCK_H

#include "hil.h"

#ifndef HIL_CLOCK_FULL
#error "HIL_CLOCK_FULL must be defined by the build (board file [clock] source)"
#endif

#ifdef HIL_CLOCK_HOST_TEST
/* The host test's fakes (tests/clock_fake.c): HIL_REG32(a) is *hil_fake_reg(a); the wait records
 * the registers, then makes the awaited bits read as awaited. */
volatile uint32_t *hil_fake_reg(uintptr_t addr);
void hil_clock_wait(uintptr_t addr, uint32_t mask, uint32_t value);
#define HIL_CLOCK_BARRIER() ((void)0)
#else
/* Spin until the masked register reads `value` (ready flags, switch status, latency). */
static inline void hil_clock_wait(uintptr_t addr, uint32_t mask, uint32_t value) {
    while ((HIL_REG32(addr) & mask) != value) {
    }
}
#define HIL_CLOCK_BARRIER() __asm volatile("dsb\n isb" ::: "memory")
#endif

/* Read-modify-write of the `mask` bits of a register to `value`. */
static inline void hil_clock_rmw(uintptr_t addr, uint32_t mask, uint32_t value) {
    HIL_REG32(addr) = (HIL_REG32(addr) & ~mask) | (value & mask);
}

void hil_clock_init(void);

#endif
