/* SysTick on the CPU clock, 24-bit down-counter (tests only). */
#include "mini.h"
#define SYST(off) (*(volatile uint32_t *)(0xE000E010u + (off)))
void mini_counter_init(void) { SYST(0x4) = 0xFFFFFFu; SYST(0x8) = 0; SYST(0x0) = 5; }
uint32_t mini_counter_read(void) { return (0xFFFFFFu - SYST(0x8)) & 0xFFFFFFu; }
