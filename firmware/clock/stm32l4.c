/* STM32L4 (STM32L432KC, NUCLEO-L432KC): 80 MHz from MSI 4 MHz through the main PLL.
 *
 * RM0394 (Rev 4):
 *   s.6.2.5   PLL: f_VCO = f_in / M * N (VCO input 4..16 MHz, VCO output 64..344 MHz), PLLCLK = f_VCO / R,
 *             max 80 MHz. MSI 4 MHz (range 6, the reset range) / M=1 * N=40 = 160 MHz, / R=2 = 80 MHz.
 *   s.6.4.1   RCC_CR @0x00: PLLON bit 24, PLLRDY bit 25.
 *   s.6.4.3   RCC_CFGR @0x08: SW[1:0] = 11 PLL, SWS[3:2]; HPRE/PPRE1/PPRE2 stay /1 (HCLK = PCLK1 = 80 MHz).
 *   s.6.4.4   RCC_PLLCFGR @0x0C: PLLSRC[1:0] = 01 MSI, PLLM[6:4] = M-1, PLLN[14:8], PLLREN bit 24,
 *             PLLR[26:25] = 00 (/2).
 *   s.3.3.3   Read access latency, table 9: Range 1 (the reset voltage range, PWR_CR1 VOS = 01)
 *             needs 4 wait states above 64 MHz; raise the latency and check it before raising
 *             the clock. s.3.7.1 FLASH_ACR @0x40022000: LATENCY[2:0], PRFTEN 8, ICEN 9, DCEN 10.
 *   USART2 kernel clock: RCC_CCIPR USART2SEL = 00 (PCLK1) at reset, so 80 MHz (board uart clock). */
#include "clock.h"

#define RCC_BASE 0x40021000u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_CFGR (RCC_BASE + 0x08u)
#define RCC_PLLCFGR (RCC_BASE + 0x0Cu)
#define FLASH_ACR 0x40022000u

#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
#define ACR_LATENCY_MASK 0x7u
#define ACR_PRFTEN (1u << 8)
#define ACR_ICEN (1u << 9)
#define ACR_DCEN (1u << 10)

#define PLL_M 1u
#define PLL_N 40u
#define PLL_R 2u
#define FLASH_WAIT_STATES 4u

void hil_clock_init(void) {
#if HIL_CLOCK_FULL
#if HIL_CLOCK_HZ != 80000000
#error "stm32l4 full clock is 80 MHz: board clock_hz must be 80000000"
#endif
    HIL_REG32(FLASH_ACR) = FLASH_WAIT_STATES | ACR_PRFTEN | ACR_ICEN | ACR_DCEN;
    hil_clock_wait(FLASH_ACR, ACR_LATENCY_MASK, FLASH_WAIT_STATES);

    hil_clock_rmw(RCC_CR, CR_PLLON, 0u); /* PLLCFGR may only change with the PLL off */
    hil_clock_wait(RCC_CR, CR_PLLRDY, 0u);
    HIL_REG32(RCC_PLLCFGR) = (1u << 0)               /* PLLSRC = MSI */
                             | ((PLL_M - 1u) << 4)   /* PLLM */
                             | (PLL_N << 8)          /* PLLN */
                             | (1u << 24)            /* PLLREN */
                             | ((PLL_R / 2u - 1u) << 25); /* PLLR: 00 = /2 */
    hil_clock_rmw(RCC_CR, CR_PLLON, CR_PLLON);
    hil_clock_wait(RCC_CR, CR_PLLRDY, CR_PLLRDY);

    hil_clock_rmw(RCC_CFGR, 0x3u, 0x3u); /* SW = PLL */
    hil_clock_wait(RCC_CFGR, 0x3u << 2, 0x3u << 2);
#else
#if HIL_CLOCK_HZ != 4000000
#error "stm32l4 reset clock is MSI 4 MHz: board clock_hz must be 4000000"
#endif
#endif
}
