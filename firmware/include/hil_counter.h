/* Extending a hardware up-counter of `bits` bits to 64 bits, shared by the interrupt-driven
 * counter drivers (cmsdk-timer, nrf51-timer, systick). The driver's overflow interrupt counts
 * wraps; a reader combines that count with the hardware value, consistently even when the
 * interrupt is pending but not yet taken. Both note a wrap seen more than half a period late
 * in hil_counter_unsure: interrupts were masked that long, so another wrap may be lost. */
#ifndef HIL_COUNTER_H
#define HIL_COUNTER_H

#include "hil.h"

/* In the overflow interrupt, after clearing the hardware flag: `low_now` is the counter read
 * in the handler (ticks since the wrap). */
static inline __attribute__((always_inline)) void hil_counter_wrapped(volatile uint32_t *wraps, unsigned bits,
                                                                      uint32_t low_now) {
    (*wraps)++;
    if (low_now >= (1u << (bits - 1u))) hil_counter_unsure = 1u;
}

/* wraps:low as 64 bits. `low()` reads the up-counting hardware value, `pending()` says whether
 * a wrap has happened that the interrupt has not counted yet. */
static inline __attribute__((always_inline)) uint64_t hil_counter_extend(volatile uint32_t *wraps, unsigned bits,
                                                                         uint32_t (*low)(void), int (*pending)(void)) {
    uint32_t w, v;
    int p;
    do {
        w = *wraps;
        v = low();
        p = pending();
    } while (w != *wraps);
    if (p && low() >= v) {
        /* The uncounted wrap came before v was read (no wrap between v and now): count it.
         * Had it come after, the counter would have wrapped past v since. */
        if (v >= (1u << (bits - 1u))) hil_counter_unsure = 1u; /* pending for over half a period */
        w++;
    }
    return ((uint64_t)w << bits) + v;
}

#endif
