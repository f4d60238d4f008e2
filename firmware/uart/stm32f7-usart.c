/* STM32F7 (NUCLEO-F767ZI): USART3 on the ST-LINK virtual COM port, TX = PD8, RX = PD9, both AF7
 * (UM1974 VCP pins; STM32F767ZI datasheet alternate-function table).
 * RM0410: RCC @0x40023800, AHB1ENR 0x30 bit 3 GPIODEN, APB1ENR 0x40 bit 18 USART3EN;
 * GPIOD @0x40020C00, MODER 0x00 (AF = 0b10), AFRH 0x24. USART3 is clocked from PCLK1, which
 * after reset is the 16 MHz HSI (board clock_hz = 16 MHz). */
#include "stm32-usart.inc"

#define RCC_BASE 0x40023800u
#define GPIOD_BASE 0x40020C00u

static void hil_stm32_uart_pins(void) {
    hil_rmw(RCC_BASE + 0x30u, 1u << 3, 1u << 3);   /* GPIODEN */
    hil_rmw(RCC_BASE + 0x40u, 1u << 18, 1u << 18); /* USART3EN */
    (void)HIL_REG32(RCC_BASE + 0x40u);
    hil_rmw(GPIOD_BASE + 0x24u, 0xFFu, 0x77u);                                 /* PD8, PD9 = AF7 */
    hil_rmw(GPIOD_BASE + 0x00u, (3u << 16) | (3u << 18), (2u << 16) | (2u << 18)); /* AF mode */
}
