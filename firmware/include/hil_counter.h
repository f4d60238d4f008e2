/* Extending a hardware up-counter of `bits` bits to 64 bits, shared by the interrupt-driven
 * counter drivers (cmsdk-timer, nrf51-timer, systick). The driver's overflow interrupt counts
 * each wrap exactly once; a reader combines that count with the hardware value.
 *
 * The hardware value and the wrap flag need not change at the same instant: QEMU's timer models
 * show the wrapped value a little before they raise the flag (measured: one inference counted
 * 2^32 ticks too many when a wrap fell on its first read), and a model could do the reverse. So a
 * reader samples (wrap count, value, flag) with interrupts masked and decides which period the
 * value belongs to by its magnitude when the flag is pending; when it is not, a value within
 * HIL_WRAP_GUARD ticks of a wrap is ambiguous (flag not raised yet, or raised early and already
 * counted), and the reader lets time pass until the value is out of that zone, by which time the
 * interrupt of that wrap has been taken, then counts back from there. The guard is rare
 * (2 * 2^12 of every 2^32 ticks on the 32-bit timers) and the sampled value is what is returned,
 * so the wait never enters the reading itself. A wrap first seen more than half a period late
 * sets hil_counter_unsure: interrupts were masked that long, so another wrap may be lost. */
#ifndef HIL_COUNTER_H
#define HIL_COUNTER_H

#include "hil.h"

#define HIL_WRAP_GUARD 0x1000u /* ticks; far more than the flag/value skew of the models */

static inline __attribute__((always_inline)) uint32_t hil_irq_mask(void) {
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static inline __attribute__((always_inline)) void hil_irq_restore(uint32_t primask) {
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* In the overflow interrupt, after clearing the hardware flag: `low_now` is the counter read
 * in the handler (ticks since the wrap, or just short of it if the flag came early). */
static inline __attribute__((always_inline)) void hil_counter_wrapped(volatile uint32_t *wraps, unsigned bits,
                                                                      uint32_t low_now) {
    uint32_t period_mask = bits >= 32u ? 0xFFFFFFFFu : (1u << bits) - 1u;
    (*wraps)++;
    if (low_now >= (1u << (bits - 1u)) && low_now < period_mask - HIL_WRAP_GUARD) hil_counter_unsure = 1u;
}

/* wraps:low as 64 bits. `low()` reads the up-counting hardware value, `pending()` says whether
 * a wrap flag is raised that the interrupt has not counted yet. */
static inline __attribute__((always_inline)) uint64_t hil_counter_extend(volatile uint32_t *wraps, unsigned bits,
                                                                         uint32_t (*low)(void), int (*pending)(void)) {
    uint32_t period_mask = bits >= 32u ? 0xFFFFFFFFu : (1u << bits) - 1u;
    uint32_t half = 1u << (bits - 1u);
    uint32_t primask = hil_irq_mask();
    uint32_t w = *wraps;
    uint32_t v = low();
    int p = pending();
    hil_irq_restore(primask);
    if (p) {
        /* A raised flag not counted yet: the value tells whether it already wrapped (small) or
         * is about to (within the guard below the top). In between, the flag has been pending
         * for about half a period or more: interrupts were masked too long. */
        if (v < half) w++;
        if (v >= half - HIL_WRAP_GUARD && v <= period_mask - HIL_WRAP_GUARD) hil_counter_unsure = 1u;
    } else if (v < HIL_WRAP_GUARD || v > period_mask - HIL_WRAP_GUARD) {
        /* Close to a wrap: wait (interrupts enabled) until the value is clear of it; that wrap's
         * interrupt has then been taken, whatever the order of flag and value. */
        uint32_t now;
        do {
            now = low();
        } while (now < HIL_WRAP_GUARD || now > period_mask - HIL_WRAP_GUARD);
        primask = hil_irq_mask();
        w = *wraps;
        now = low();
        if (pending() && now < half) w++;
        hil_irq_restore(primask);
        if (now < v) w--; /* the value wrapped after the sample: the sample belongs to the period before */
    }
    return ((uint64_t)w << bits) + v;
}

#endif
