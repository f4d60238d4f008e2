/* SysTick (24-bit, CPU clock) extended to 32 bits by counting wraps in its interrupt.
 * On real Cortex-M0+ parts this counts CPU cycles; under QEMU -icount it follows the
 * virtual clock. The ISR's few instructions are part of every measured interval. */
#include "hil.h"

#define SYST_CSR HIL_REG32(0xE000E010u)
#define SYST_RVR HIL_REG32(0xE000E014u)
#define SYST_CVR HIL_REG32(0xE000E018u)
#define SCB_ICSR HIL_REG32(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)

static volatile uint32_t wraps;

void SysTick_Handler(void) { wraps++; }

void hil_counter_init(void) {
    SYST_CSR = 0u;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* enable, interrupt, CPU clock */
}

uint32_t hil_counter_now(void) {
    uint32_t w, v, pending;
    do {
        w = wraps;
        v = SYST_CVR & 0xFFFFFFu;
        pending = SCB_ICSR & ICSR_PENDSTSET;
    } while (w != wraps);
    if (pending && v > 0x800000u) w++; /* wrapped, interrupt not yet taken */
    return (w << 24) + (0xFFFFFFu - v);
}
