/* nRF52840 (nRF52840 DK): the CPU always runs at 64 MHz (HFCLK); the full setting starts the
 * 32 MHz crystal oscillator (HFXO) so the UARTE baud rate is crystal-accurate, and turns on
 * the flash instruction cache.
 *
 * nRF52840 Product Specification v1.7:
 *   s.5.4     CLOCK @0x40000000: TASKS_HFCLKSTART @0x000, EVENTS_HFCLKSTARTED @0x100.
 *   s.4.3.10  NVMC @0x4001E000: ICACHECNF @0x540, CACHEEN bit 0. */
#include "clock.h"

#define CLOCK_BASE 0x40000000u
#define TASKS_HFCLKSTART (CLOCK_BASE + 0x000u)
#define EVENTS_HFCLKSTARTED (CLOCK_BASE + 0x100u)
#define NVMC_ICACHECNF 0x4001E540u

void hil_clock_init(void) {
#if HIL_CLOCK_HZ != 64000000
#error "nRF52840 runs at 64 MHz: board clock_hz must be 64000000"
#endif
#if HIL_CLOCK_FULL
    HIL_REG32(EVENTS_HFCLKSTARTED) = 0u;
    HIL_REG32(TASKS_HFCLKSTART) = 1u;
    hil_clock_wait(EVENTS_HFCLKSTARTED, 1u, 1u);
    hil_clock_rmw(NVMC_ICACHECNF, 1u, 1u);
#endif
}
