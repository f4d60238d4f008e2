/* CMSDK APB UART, polled TX only (tests only). */
#include "mini.h"
#define REG(off) (*(volatile uint32_t *)(HIL_UART_BASE + (off)))
void mini_uart_init(void) { REG(0x10) = 16; REG(0x08) = 1; }
void mini_uart_putc(char c) { while (REG(0x04) & 1u) { } REG(0x00) = (uint8_t)c; }
