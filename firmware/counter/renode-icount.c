/* Exact executed-instruction count under Renode.
 *
 * Renode's timers (SysTick, DWT) follow its virtual clock only coarsely (emulation.md 12.4), so
 * the backend maps a peripheral at HIL_COUNTER_BASE whose reads return the CPU's 64-bit
 * ExecutedInstructions (low word first; harness/backends/renode_counter.ipy). Renode adds a
 * translation block's instructions when the block ends, so both reads return the count at the
 * entry of hil_counter_now() (a block starts there: it is reached by a branch), and differences
 * between two calls are exact. The count never wraps, so it is never unsure. Must stay a real
 * (non-inlined) function: the cross-check tests hook its symbol address. */
#include "hil.h"

#if HIL_COUNTER_BASE == 0
#error "renode-icount needs [counter] base (two words outside flash and RAM)"
#endif

void hil_counter_init(void) {} /* the peripheral counts from the machine's start */

__attribute__((noinline, used)) uint64_t hil_counter_now(void) {
    return ((uint64_t)HIL_REG32(HIL_COUNTER_BASE + 4u) << 32) | HIL_REG32(HIL_COUNTER_BASE);
}
