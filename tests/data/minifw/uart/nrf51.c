/* nRF51 UART0, polled TX only (tests only). */
#include "mini.h"
#define REG(off) (*(volatile uint32_t *)(HIL_UART_BASE + (off)))
void mini_uart_init(void) { REG(0x500) = 4; REG(0x524) = 0x01D7E000u; REG(0x11C) = 0; REG(0x008) = 1; }
void mini_uart_putc(char c) { REG(0x51C) = (uint8_t)c; while (!REG(0x11C)) { } REG(0x11C) = 0; }
