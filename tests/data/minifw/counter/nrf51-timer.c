/* nRF51 TIMER in 32-bit timer mode, prescaler 0, read through CAPTURE[0] (tests only). */
#include "mini.h"
#define REG(off) (*(volatile uint32_t *)(HIL_COUNTER_BASE + (off)))
void mini_counter_init(void) { REG(0x504) = 0; REG(0x508) = 3; REG(0x510) = 0; REG(0x00C) = 1; REG(0x000) = 1; }
uint32_t mini_counter_read(void) { REG(0x040) = 1; return REG(0x540); }
