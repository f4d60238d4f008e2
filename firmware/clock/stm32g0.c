/* STM32G0 (STM32G071RB, NUCLEO-G071RB): 64 MHz from HSI16 through the PLL.
 *
 * RM0444 (Rev 5):
 *   s.5.2.4   PLL: f_VCO = f_in / M * N (VCO input 2.66..16 MHz, VCO output 64..344 MHz), PLLRCLK = f_VCO / R,
 *             max 64 MHz. HSI16 / M=1 * N=8 = 128 MHz, / R=2 = 64 MHz.
 *   s.5.4.1   RCC_CR @0x00: PLLON bit 24, PLLRDY bit 25.
 *   s.5.4.3   RCC_CFGR @0x08: SW[2:0] = 010 PLLRCLK, SWS[5:3]; HPRE/PPRE stay /1 (PCLK = 64 MHz).
 *   s.5.4.4   RCC_PLLCFGR @0x0C: PLLSRC[1:0] = 10 HSI16, PLLM[6:4] = M-1, PLLN[14:8], PLLREN bit 28,
 *             PLLR[31:29] = R-1.
 *   s.3.3.4   Read access latency, table 12: Range 1 (the reset range) needs 2 wait states above
 *             48 MHz. s.3.7.1 FLASH_ACR @0x40022000: LATENCY[2:0], PRFTEN 8, ICEN 9.
 *   USART2 kernel clock: RCC_CCIPR USART2SEL = 00 (PCLK) at reset, so 64 MHz. */
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

#define PLL_M 1u
#define PLL_N 8u
#define PLL_R 2u
#define FLASH_WAIT_STATES 2u

void hil_clock_init(void) {
#if HIL_CLOCK_FULL
#if HIL_CLOCK_HZ != 64000000
#error "stm32g0 full clock is 64 MHz: board clock_hz must be 64000000"
#endif
    HIL_REG32(FLASH_ACR) = FLASH_WAIT_STATES | ACR_PRFTEN | ACR_ICEN;
    hil_clock_wait(FLASH_ACR, ACR_LATENCY_MASK, FLASH_WAIT_STATES);

    hil_clock_rmw(RCC_CR, CR_PLLON, 0u);
    hil_clock_wait(RCC_CR, CR_PLLRDY, 0u);
    HIL_REG32(RCC_PLLCFGR) = (2u << 0)             /* PLLSRC = HSI16 */
                             | ((PLL_M - 1u) << 4) /* PLLM */
                             | (PLL_N << 8)        /* PLLN */
                             | (1u << 28)          /* PLLREN */
                             | ((PLL_R - 1u) << 29); /* PLLR */
    hil_clock_rmw(RCC_CR, CR_PLLON, CR_PLLON);
    hil_clock_wait(RCC_CR, CR_PLLRDY, CR_PLLRDY);

    hil_clock_rmw(RCC_CFGR, 0x7u, 0x2u); /* SW = PLLRCLK */
    hil_clock_wait(RCC_CFGR, 0x7u << 3, 0x2u << 3);
#else
#if HIL_CLOCK_HZ != 16000000
#error "stm32g0 reset clock is HSI16: board clock_hz must be 16000000"
#endif
#endif
}
