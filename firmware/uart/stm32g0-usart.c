/* STM32G0 (NUCLEO-G071RB): USART2 on the ST-LINK virtual COM port, TX = PA2, RX = PA3, both AF1
 * (UM2324 VCP pins; STM32G071 datasheet alternate-function table).
 * RM0444: RCC @0x40021000, IOPENR 0x34 bit 0 GPIOAEN, APBENR1 0x3C bit 17 USART2EN;
 * GPIOA @0x50000000 (IOPORT), MODER 0x00 (AF = 0b10), AFRL 0x20. USART2 is clocked from PCLK,
 * which after reset is HSISYS = HSI16 / 1 = 16 MHz (board clock_hz = 16 MHz). */
#include "stm32-usart.inc"

#define RCC_BASE 0x40021000u
#define GPIOA_BASE 0x50000000u

static void hil_stm32_uart_pins(void) {
    hil_rmw(RCC_BASE + 0x34u, 1u << 0, 1u << 0);   /* GPIOAEN */
    hil_rmw(RCC_BASE + 0x3Cu, 1u << 17, 1u << 17); /* USART2EN */
    (void)HIL_REG32(RCC_BASE + 0x3Cu);
    hil_rmw(GPIOA_BASE + 0x20u, (0xFu << 8) | (0xFu << 12), (1u << 8) | (1u << 12)); /* PA2, PA3 = AF1 */
    hil_rmw(GPIOA_BASE + 0x00u, (3u << 4) | (3u << 6), (2u << 4) | (2u << 6));       /* AF mode */
}
