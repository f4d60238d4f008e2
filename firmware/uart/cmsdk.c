/* CMSDK APB UART (Arm MPS2/MPS3 boards), polled. */
#include "hil.h"

#ifndef HIL_UART_BASE
#error "HIL_UART_BASE must be defined by the build (board file [uart] base)"
#endif
#ifndef HIL_UART_BAUD
#define HIL_UART_BAUD 115200
#endif
#ifndef HIL_CLOCK_HZ
#define HIL_CLOCK_HZ 25000000
#endif

#define UART_DATA HIL_REG32(HIL_UART_BASE + 0x00u)
#define UART_STATE HIL_REG32(HIL_UART_BASE + 0x04u)
#define UART_CTRL HIL_REG32(HIL_UART_BASE + 0x08u)
#define UART_INTCLEAR HIL_REG32(HIL_UART_BASE + 0x0Cu)
#define UART_BAUDDIV HIL_REG32(HIL_UART_BASE + 0x10u)
#define STATE_RXFULL 2u
#define CTRL_RXINTEN 8u
#define INT_RX 2u

void hil_uart_init(void) {
    uint32_t div = (uint32_t)HIL_CLOCK_HZ / (uint32_t)HIL_UART_BAUD;
    UART_BAUDDIV = div < 16u ? 16u : div;
    UART_CTRL = 3u | (HIL_UART_SLEEP ? CTRL_RXINTEN : 0u); /* TX, RX (and RX interrupt) enable */
    /* One dummy read: QEMU's model then re-polls its chardev, which avoids a ~1 s stall
     * before the first received byte (emulation.md 5.4). Harmless on hardware. */
    (void)UART_DATA;
}

void hil_uart_putc(uint8_t c) {
    while (UART_STATE & 1u) {
    }
    UART_DATA = c;
}

int hil_uart_rx_ready(void) { return (UART_STATE & STATE_RXFULL) != 0u; }

uint8_t hil_uart_getc(void) {
    while (!hil_uart_rx_ready()) {
#if HIL_UART_SLEEP
        hil_irq_wait_begin();
        UART_INTCLEAR = INT_RX; /* the RX status is sticky: drop the last byte's */
        if (!hil_uart_rx_ready()) __asm volatile("wfi" ::: "memory");
        hil_irq_wait_end();
#endif
    }
    return (uint8_t)UART_DATA;
}
