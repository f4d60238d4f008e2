/* DWT cycle counter (real Cortex-M3/M4/M7/M33 only: QEMU reads it as 0), extended to 64 bits.
 * CYCCNT has no overflow interrupt, so SysTick polls it every 2^24 cycles (far more often than
 * its 2^32-cycle wrap) and counts the wraps it sees; a reader adds a wrap since the last poll.
 * Each poll costs a few cycles inside the measured interval (~1 per million). */
#include "hil.h"

#define DEMCR HIL_REG32(0xE000EDFCu)
#define DWT_CTRL HIL_REG32(0xE0001000u)
#define DWT_CYCCNT HIL_REG32(0xE0001004u)
#define DWT_LAR HIL_REG32(0xE0001FB0u)
#define SYST_CSR HIL_REG32(0xE000E010u)
#define SYST_RVR HIL_REG32(0xE000E014u)
#define SYST_CVR HIL_REG32(0xE000E018u)

#define HALF_PERIOD 0x80000000u

static volatile uint32_t wraps, last;

/* A poll more than half a CYCCNT period after the previous one: interrupts were masked that
 * long, so a whole wrap may have gone unseen. */
void SysTick_Handler(void) {
    uint32_t now = DWT_CYCCNT;
    if (now - last >= HALF_PERIOD) hil_counter_unsure = 1u;
    if (now < last) wraps++;
    last = now;
}

void hil_counter_init(void) {
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_LAR = 0xC5ACCE55u; /* unlock on parts that have a lock (ignored elsewhere) */
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u;
    SYST_CSR = 0u;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* enable, interrupt, CPU clock */
}

uint64_t hil_counter_now(void) {
    uint32_t w, l, now;
    do {
        w = wraps;
        l = last;
        now = DWT_CYCCNT;
    } while (w != wraps || l != last);
    if (now - l >= HALF_PERIOD) hil_counter_unsure = 1u; /* no poll for half a period */
    if (now < l) w++;
    return ((uint64_t)w << 32) | now;
}
