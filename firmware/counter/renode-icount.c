/* Exact executed-instruction count under Renode.
 *
 * Renode's timers (SysTick, DWT) follow its virtual clock only coarsely (emulation.md 12.4), so
 * the backend installs a CPU hook at the entry of hil_counter_now() that writes the CPU's 64-bit
 * ExecutedInstructions into the two words at HIL_COUNTER_BASE (low word first); the function
 * then returns it. The hook fires before the hooked instruction, so every read sees the count at
 * the same point of the call, and differences between two reads are exact. The count never
 * wraps, so it is never unsure. Must stay a real (non-inlined) function: the hook is placed at
 * its symbol address. */
#include "hil.h"

#if HIL_COUNTER_BASE == 0
#error "renode-icount needs [counter] base (two words outside flash and RAM)"
#endif

void hil_counter_init(void) {
    HIL_REG32(HIL_COUNTER_BASE) = 0u;
    HIL_REG32(HIL_COUNTER_BASE + 4u) = 0u;
}

__attribute__((noinline, used)) uint64_t hil_counter_now(void) {
    return ((uint64_t)HIL_REG32(HIL_COUNTER_BASE + 4u) << 32) | HIL_REG32(HIL_COUNTER_BASE);
}
