/* STM32F7 (STM32F767ZI, NUCLEO-F767ZI): 216 MHz from HSI 16 MHz through the main PLL, with
 * over-drive, 7 flash wait states, ART + prefetch and the Cortex-M7 L1 I/D caches.
 *
 * RM0410 (Rev 4):
 *   s.5.2     Main PLL: f_VCO = f_in / M * N (VCO input 1..2 MHz, VCO output 100..432 MHz), SYSCLK = f_VCO / P,
 *             max 216 MHz. HSI 16 MHz / M=8 * N=216 = 432 MHz, / P=2 = 216 MHz; Q=9 gives 48 MHz.
 *   s.5.3.1   RCC_CR @0x00: PLLON bit 24, PLLRDY bit 25.
 *   s.5.3.2   RCC_PLLCFGR @0x04: PLLM[5:0], PLLN[14:6], PLLP[17:16] = P/2-1, PLLSRC bit 22 = 0 HSI,
 *             PLLQ[27:24], PLLR[30:28].
 *   s.5.3.3   RCC_CFGR @0x08: SW[1:0] = 10 PLL, SWS[3:2]; PPRE1[12:10] = 101 (/4: APB1 max 54 MHz),
 *             PPRE2[15:13] = 100 (/2: APB2 max 108 MHz).
 *   s.4.1.4   Over-drive (needed above 180 MHz): with the PLL on, set PWR_CR1 ODEN, wait PWR_CSR1 ODRDY,
 *             set ODSWEN, wait ODSWRDY. PWR_CR1 @0x40007000 VOS[15:14] = 11 (scale 1), ODEN 16,
 *             ODSWEN 17; PWR_CSR1 @0x40007004 ODRDY 16, ODSWRDY 17. RCC_APB1ENR @0x40 PWREN bit 28.
 *   s.3.3.2   Read access latency, table 7: 2.7..3.6 V needs 7 wait states above 210 MHz.
 *             s.3.7.1 FLASH_ACR @0x40023C00: LATENCY[3:0], PRFTEN 8, ARTEN 9.
 *   USART3 kernel clock: RCC_DCKCFGR2 USART3SEL = 00 (PCLK1) at reset, so 216 / 4 = 54 MHz.
 *   Caches (ARM Cortex-M7 TRM / PM0253 s.4.3.7, 4.8): invalidate then enable, SCB_CCR IC bit 17, DC bit 16. */
#include "clock.h"

#define RCC_BASE 0x40023800u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_PLLCFGR (RCC_BASE + 0x04u)
#define RCC_CFGR (RCC_BASE + 0x08u)
#define RCC_APB1ENR (RCC_BASE + 0x40u)
#define PWR_CR1 0x40007000u
#define PWR_CSR1 0x40007004u
#define FLASH_ACR 0x40023C00u

#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
#define PWR_ODEN (1u << 16)
#define PWR_ODSWEN (1u << 17)
#define ACR_LATENCY_MASK 0xFu
#define ACR_PRFTEN (1u << 8)
#define ACR_ARTEN (1u << 9)

#define SCB_CCR 0xE000ED14u
#define SCB_CCSIDR 0xE000ED80u
#define SCB_CSSELR 0xE000ED84u
#define SCB_ICIALLU 0xE000EF50u
#define SCB_DCISW 0xE000EF60u
#define CCR_DC (1u << 16)
#define CCR_IC (1u << 17)

#define PLL_M 8u
#define PLL_N 216u
#define PLL_P 2u
#define PLL_Q 9u
#define PLL_R 2u
#define FLASH_WAIT_STATES 7u

#if HIL_CLOCK_FULL
/* Invalidate, then enable the L1 instruction and data caches (set/way loop over CCSIDR). */
static void enable_caches(void) {
    HIL_CLOCK_BARRIER();
    HIL_REG32(SCB_ICIALLU) = 0u;
    HIL_CLOCK_BARRIER();
    HIL_REG32(SCB_CSSELR) = 0u; /* level 1 data cache */
    HIL_CLOCK_BARRIER();
    uint32_t ccsidr = HIL_REG32(SCB_CCSIDR);
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t s = 0; s < sets; s++) {
        for (uint32_t w = 0; w < ways; w++) {
            HIL_REG32(SCB_DCISW) = (s << 5) | (w << 30); /* 32-byte lines, 4 ways */
        }
    }
    HIL_CLOCK_BARRIER();
    hil_clock_rmw(SCB_CCR, CCR_IC | CCR_DC, CCR_IC | CCR_DC);
    HIL_CLOCK_BARRIER();
}
#endif

void hil_clock_init(void) {
#if HIL_CLOCK_FULL
#if HIL_CLOCK_HZ != 216000000
#error "stm32f7 full clock is 216 MHz: board clock_hz must be 216000000"
#endif
    hil_clock_rmw(RCC_APB1ENR, 1u << 28, 1u << 28); /* PWREN */
    (void)HIL_REG32(RCC_APB1ENR);
    hil_clock_rmw(PWR_CR1, 3u << 14, 3u << 14);     /* VOS = scale 1 (PLL still off) */

    hil_clock_rmw(RCC_CR, CR_PLLON, 0u);
    hil_clock_wait(RCC_CR, CR_PLLRDY, 0u);
    HIL_REG32(RCC_PLLCFGR) = PLL_M | (PLL_N << 6) | ((PLL_P / 2u - 1u) << 16) /* PLLSRC bit 22 = 0: HSI */
                             | (PLL_Q << 24) | (PLL_R << 28);
    hil_clock_rmw(RCC_CR, CR_PLLON, CR_PLLON);
    hil_clock_wait(RCC_CR, CR_PLLRDY, CR_PLLRDY);

    hil_clock_rmw(PWR_CR1, PWR_ODEN, PWR_ODEN);
    hil_clock_wait(PWR_CSR1, PWR_ODEN, PWR_ODEN);       /* ODRDY: same bit in CSR1 */
    hil_clock_rmw(PWR_CR1, PWR_ODSWEN, PWR_ODSWEN);
    hil_clock_wait(PWR_CSR1, PWR_ODSWEN, PWR_ODSWEN);   /* ODSWRDY */

    HIL_REG32(FLASH_ACR) = FLASH_WAIT_STATES | ACR_PRFTEN | ACR_ARTEN;
    hil_clock_wait(FLASH_ACR, ACR_LATENCY_MASK, FLASH_WAIT_STATES);

    /* APB prescalers first, so PCLK1/PCLK2 never exceed their maxima. */
    hil_clock_rmw(RCC_CFGR, (7u << 10) | (7u << 13) | (0xFu << 4), (5u << 10) | (4u << 13));
    hil_clock_rmw(RCC_CFGR, 0x3u, 0x2u); /* SW = PLL */
    hil_clock_wait(RCC_CFGR, 0x3u << 2, 0x2u << 2);
    enable_caches();
#else
#if HIL_CLOCK_HZ != 16000000
#error "stm32f7 reset clock is HSI 16 MHz: board clock_hz must be 16000000"
#endif
#endif
}
