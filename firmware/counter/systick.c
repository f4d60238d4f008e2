/* SysTick (24-bit, CPU clock) extended to 64 bits by counting wraps in its interrupt.
 * On real Cortex-M0+ parts this counts CPU cycles; under QEMU -icount it follows the
 * virtual clock. The ISR's few instructions are part of every measured interval. */
#include "hil_counter.h"

#define SYST_CSR HIL_REG32(0xE000E010u)
#define SYST_RVR HIL_REG32(0xE000E014u)
#define SYST_CVR HIL_REG32(0xE000E018u)
#define SCB_ICSR HIL_REG32(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)

static volatile uint32_t wraps;

static uint32_t low(void) { return 0xFFFFFFu - (SYST_CVR & 0xFFFFFFu); }
static int pending(void) { return (SCB_ICSR & ICSR_PENDSTSET) != 0u; }

void SysTick_Handler(void) { hil_counter_wrapped(&wraps, 24u, low()); }

void hil_counter_init(void) {
    SYST_CSR = 0u;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* enable, interrupt, CPU clock */
}

uint64_t hil_counter_now(void) { return hil_counter_extend(&wraps, 24u, low, pending); }
