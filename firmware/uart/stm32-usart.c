/* STM32 USART with no clock or pin set-up: for platforms where someone else did it (Renode's
 * UART.STM32F7_USART needs none; a bootloader may have done it on hardware). Real NUCLEO boards
 * use stm32l4-usart, stm32g0-usart or stm32f7-usart, which add the chip's RCC and GPIO set-up. */
#include "stm32-usart.inc"

static void hil_stm32_uart_pins(void) {}
