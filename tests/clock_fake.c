/* Host stand-in for the memory-mapped registers firmware/clock/<chip>.c touches (test_clocks.py).
 * HIL_REG32(addr) is compiled as *hil_fake_reg(addr); every hil_clock_wait prints a JSON line
 * with the wait and a snapshot of all registers, then makes the awaited bits read as awaited
 * (what the hardware does when the PLL locks, the switch completes, the latency applies). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_REGS 64
static uintptr_t addrs[MAX_REGS];
static uint32_t values[MAX_REGS];
static int count;

volatile uint32_t *hil_fake_reg(uintptr_t addr) {
    for (int i = 0; i < count; i++)
        if (addrs[i] == addr) return &values[i];
    if (count == MAX_REGS) abort();
    addrs[count] = addr;
    values[count] = 0;
    return &values[count++];
}

static void dump(const char *event, uintptr_t addr, uint32_t mask, uint32_t value) {
    printf("{\"event\": \"%s\", \"addr\": %lu, \"mask\": %u, \"value\": %u, \"regs\": {", event,
           (unsigned long)addr, mask, value);
    for (int i = 0; i < count; i++) printf("%s\"%lu\": %u", i ? ", " : "", (unsigned long)addrs[i], values[i]);
    printf("}}\n");
}

void hil_clock_wait(uintptr_t addr, uint32_t mask, uint32_t value) {
    dump("wait", addr, mask, value);
    volatile uint32_t *r = hil_fake_reg(addr);
    *r = (*r & ~mask) | (value & mask);
}

void hil_clock_init(void);

int main(int argc, char **argv) {
    /* Reset values the code reads back: argv holds addr=value pairs. */
    for (int i = 1; i < argc; i++) {
        unsigned long a, v;
        if (sscanf(argv[i], "%lx=%lx", &a, &v) == 2) *hil_fake_reg((uintptr_t)a) = (uint32_t)v;
    }
    hil_clock_init();
    dump("done", 0, 0, 0);
    return 0;
}
