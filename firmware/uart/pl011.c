/* Arm PrimeCell PL011 UART (Renode's UART.PL011; also many real SoCs).
 * Register offsets from the PL011 TRM (DDI 0183): DR 0x00, FR 0x18, IBRD 0x24, FBRD 0x28,
 * LCR_H 0x2C, CR 0x30, IMSC 0x38.
 * While waiting for a host byte the core sleeps in WFI (HIL_UART_SLEEP, see hil.h): the RX
 * interrupt (IMSC.RXIM) wakes it. The FIFOs stay off so that interrupt fires for every byte
 * (with FIFOs on it fires only at the FIFO trigger level, and Renode models no receive timeout). */
#include "hil.h"

#ifndef HIL_UART_BASE
#error "HIL_UART_BASE must be defined by the build (board file [uart] base)"
#endif
#ifndef HIL_UART_BAUD
#define HIL_UART_BAUD 115200
#endif
#ifndef HIL_CLOCK_HZ
#define HIL_CLOCK_HZ 24000000
#endif

#define UART_DR HIL_REG32(HIL_UART_BASE + 0x00u)
#define UART_FR HIL_REG32(HIL_UART_BASE + 0x18u)
#define UART_IBRD HIL_REG32(HIL_UART_BASE + 0x24u)
#define UART_FBRD HIL_REG32(HIL_UART_BASE + 0x28u)
#define UART_LCR_H HIL_REG32(HIL_UART_BASE + 0x2Cu)
#define UART_CR HIL_REG32(HIL_UART_BASE + 0x30u)

#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define LCR_H_FEN (1u << 4)
#define LCR_H_WLEN8 (3u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)
#define UART_IMSC HIL_REG32(HIL_UART_BASE + 0x38u)
#define IMSC_RXIM (1u << 4)

void hil_uart_init(void) {
    /* Baud divisor in 1/64ths: 64 * clk / (16 * baud), rounded. */
    uint32_t div64 = (uint32_t)((4ull * HIL_CLOCK_HZ + HIL_UART_BAUD / 2u) / HIL_UART_BAUD);
    UART_CR = 0u;
    UART_IBRD = div64 >> 6;
    UART_FBRD = div64 & 0x3Fu;
    /* 8N1. Renode warns on every byte when WLEN is left at 5 bits (emulation.md 12.1). */
    UART_LCR_H = LCR_H_WLEN8 | (HIL_UART_SLEEP ? 0u : LCR_H_FEN);
    UART_IMSC = HIL_UART_SLEEP ? IMSC_RXIM : 0u;
    UART_CR = CR_UARTEN | CR_TXE | CR_RXE;
}

void hil_uart_putc(uint8_t c) {
    while (UART_FR & FR_TXFF) {
    }
    UART_DR = c;
}

int hil_uart_rx_ready(void) { return !(UART_FR & FR_RXFE); }

uint8_t hil_uart_getc(void) {
    while (!hil_uart_rx_ready()) {
#if HIL_UART_SLEEP
        hil_irq_wait_begin();
        if (!hil_uart_rx_ready()) __asm volatile("wfi" ::: "memory");
        hil_irq_wait_end();
#endif
    }
    return (uint8_t)UART_DR;
}
