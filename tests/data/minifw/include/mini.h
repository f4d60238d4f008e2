/* Interface between the mini runtime, its drivers and the test model (tests only). */
#ifndef MINI_H
#define MINI_H
#include <stdint.h>
void mini_uart_init(void);
void mini_uart_putc(char c);
void mini_counter_init(void);
uint32_t mini_counter_read(void); /* up-counting ticks */
#endif
