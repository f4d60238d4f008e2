/* STM32L4 (NUCLEO-L432KC): USART2 on the ST-LINK virtual COM port, TX = PA2 (AF7),
 * RX = PA15 (AF3) (UM1956 VCP pins; STM32L432KC datasheet alternate-function table).
 * RM0394: RCC @0x40021000, AHB2ENR 0x4C bit 0 GPIOAEN, APB1ENR1 0x58 bit 17 USART2EN;
 * GPIOA @0x48000000, MODER 0x00 (AF = 0b10), AFRL 0x20, AFRH 0x24. USART2 is clocked from PCLK1,
 * which after reset is the 4 MHz MSI (board clock_hz = 4 MHz). */
#include "stm32-usart.inc"

#define RCC_BASE 0x40021000u
#define GPIOA_BASE 0x48000000u

static void hil_stm32_uart_pins(void) {
    hil_rmw(RCC_BASE + 0x4Cu, 1u << 0, 1u << 0);   /* GPIOAEN */
    hil_rmw(RCC_BASE + 0x58u, 1u << 17, 1u << 17); /* USART2EN */
    (void)HIL_REG32(RCC_BASE + 0x58u);             /* let the enable take effect before use */
    hil_rmw(GPIOA_BASE + 0x20u, 0xFu << 8, 7u << 8);   /* AFRL: PA2 = AF7 */
    hil_rmw(GPIOA_BASE + 0x24u, 0xFu << 28, 3u << 28); /* AFRH: PA15 = AF3 */
    hil_rmw(GPIOA_BASE + 0x00u, (3u << 4) | (3u << 30), (2u << 4) | (2u << 30)); /* PA2, PA15 AF mode */
}
