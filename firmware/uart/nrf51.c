/* nRF51 UART0 (BBC micro:bit), polled. */
#include "hil.h"

#ifndef HIL_UART_BASE
#define HIL_UART_BASE 0x40002000u
#endif
/* micro:bit v1 USB-serial pins; QEMU ignores them. */
#ifndef HIL_UART_TX_PIN
#define HIL_UART_TX_PIN 24u
#endif
#ifndef HIL_UART_RX_PIN
#define HIL_UART_RX_PIN 25u
#endif

#define UART_STARTRX HIL_REG32(HIL_UART_BASE + 0x000u)
#define UART_STARTTX HIL_REG32(HIL_UART_BASE + 0x008u)
#define UART_RXDRDY HIL_REG32(HIL_UART_BASE + 0x108u)
#define UART_TXDRDY HIL_REG32(HIL_UART_BASE + 0x11Cu)
#define UART_INTENSET HIL_REG32(HIL_UART_BASE + 0x304u)
#define UART_ENABLE HIL_REG32(HIL_UART_BASE + 0x500u)
#define UART_PSELTXD HIL_REG32(HIL_UART_BASE + 0x50Cu)
#define UART_PSELRXD HIL_REG32(HIL_UART_BASE + 0x514u)
#define UART_RXD HIL_REG32(HIL_UART_BASE + 0x518u)
#define UART_TXD HIL_REG32(HIL_UART_BASE + 0x51Cu)
#define UART_BAUDRATE HIL_REG32(HIL_UART_BASE + 0x524u)

#define SYST_CSR HIL_REG32(0xE000E010u)
#define SYST_RVR HIL_REG32(0xE000E014u)
#define SYST_CVR HIL_REG32(0xE000E018u)

void hil_uart_init(void) {
    UART_PSELTXD = HIL_UART_TX_PIN;
    UART_PSELRXD = HIL_UART_RX_PIN;
    UART_BAUDRATE = 0x01D7E000u; /* 115200 */
    UART_ENABLE = 4u;
    UART_TXDRDY = 0u;
    UART_RXDRDY = 0u;
    UART_STARTTX = 1u;
    UART_STARTRX = 1u;
    if (HIL_UART_SLEEP) UART_INTENSET = 1u << 2; /* RXDRDY interrupt: wakes the WFI in getc */
    /* Arm and stop SysTick once: without -icount this wakes QEMU's main loop so the first
     * received byte is not delayed ~1 s (emulation.md 5.4). With -icount and this firmware
     * no stall was measured (first reply a few ms after BOOT). The counter is set up after. */
    SYST_RVR = 1000u;
    SYST_CVR = 0u;
    SYST_CSR = 1u;
    SYST_CSR = 0u;
}

void hil_uart_putc(uint8_t c) {
    UART_TXD = c;
    while (!UART_TXDRDY) {
    }
    UART_TXDRDY = 0u;
}

int hil_uart_rx_ready(void) { return UART_RXDRDY != 0u; }

uint8_t hil_uart_getc(void) {
    while (!hil_uart_rx_ready()) {
#if HIL_UART_SLEEP
        hil_irq_wait_begin();
        if (!hil_uart_rx_ready()) __asm volatile("wfi" ::: "memory");
        hil_irq_wait_end();
#endif
    }
    UART_RXDRDY = 0u; /* clear before reading: reading RXD re-raises it if the FIFO has more */
    return (uint8_t)UART_RXD;
}
