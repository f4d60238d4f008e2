/* CMSDK APB timer as a free-running 32-bit down-counter (tests only). */
#include "mini.h"
#define REG(off) (*(volatile uint32_t *)(HIL_COUNTER_BASE + (off)))
void mini_counter_init(void) { REG(0x08) = 0xFFFFFFFFu; REG(0x04) = 0xFFFFFFFFu; REG(0x00) = 1; }
uint32_t mini_counter_read(void) { return 0xFFFFFFFFu - REG(0x04); }
