/* nRF52840 UARTE0 (nRF52840 DK: the on-board J-Link's virtual COM port), polled, EasyDMA.
 *
 * nRF52840 Product Specification v1.7, s.6.34 UARTE: TASKS_STARTRX 0x000, TASKS_STARTTX 0x008,
 * EVENTS_ENDRX 0x110, EVENTS_ENDTX 0x120, ENABLE 0x500 (8 = UARTE), PSEL.TXD 0x50C, PSEL.RXD 0x514,
 * BAUDRATE 0x524 (115200: 0x01D60000), RXD.PTR/MAXCNT 0x534/0x538, TXD.PTR/MAXCNT 0x544/0x548,
 * CONFIG 0x56C (8N1, no flow control = 0). EasyDMA reads and writes RAM only, so both one-byte
 * buffers live in .bss. Between ENDRX and the next STARTRX the receiver keeps running and holds
 * incoming bytes in its RX FIFO (s.6.34.5), so one-byte transfers lose nothing.
 * DK pins (nRF52840 DK user guide, "Virtual COM port"): TXD P0.06, RXD P0.08. */
#include "hil.h"

#ifndef HIL_UART_BASE
#define HIL_UART_BASE 0x40002000u
#endif
#ifndef HIL_UART_TX_PIN
#define HIL_UART_TX_PIN 6u
#endif
#ifndef HIL_UART_RX_PIN
#define HIL_UART_RX_PIN 8u
#endif

#define UARTE_STARTRX HIL_REG32(HIL_UART_BASE + 0x000u)
#define UARTE_STARTTX HIL_REG32(HIL_UART_BASE + 0x008u)
#define UARTE_ENDRX HIL_REG32(HIL_UART_BASE + 0x110u)
#define UARTE_ENDTX HIL_REG32(HIL_UART_BASE + 0x120u)
#define UARTE_ENABLE HIL_REG32(HIL_UART_BASE + 0x500u)
#define UARTE_PSEL_TXD HIL_REG32(HIL_UART_BASE + 0x50Cu)
#define UARTE_PSEL_RXD HIL_REG32(HIL_UART_BASE + 0x514u)
#define UARTE_BAUDRATE HIL_REG32(HIL_UART_BASE + 0x524u)
#define UARTE_RXD_PTR HIL_REG32(HIL_UART_BASE + 0x534u)
#define UARTE_RXD_MAXCNT HIL_REG32(HIL_UART_BASE + 0x538u)
#define UARTE_TXD_PTR HIL_REG32(HIL_UART_BASE + 0x544u)
#define UARTE_TXD_MAXCNT HIL_REG32(HIL_UART_BASE + 0x548u)
#define UARTE_CONFIG HIL_REG32(HIL_UART_BASE + 0x56Cu)

#if HIL_UART_BAUD != 115200
#error "nrf52-uarte: only 115200 Bd is tabulated (BAUDRATE 0x01D60000); add the PS table value for others"
#endif

static volatile uint8_t rx_byte, tx_byte;

static void start_rx(void) {
    UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
    UARTE_RXD_MAXCNT = 1u;
    UARTE_ENDRX = 0u;
    UARTE_STARTRX = 1u;
}

void hil_uart_init(void) {
    UARTE_ENABLE = 0u;
    UARTE_PSEL_TXD = HIL_UART_TX_PIN; /* bit 31 clear: connected; port 0 */
    UARTE_PSEL_RXD = HIL_UART_RX_PIN;
    UARTE_BAUDRATE = 0x01D60000u;
    UARTE_CONFIG = 0u;
    UARTE_ENABLE = 8u;
    start_rx();
}

void hil_uart_putc(uint8_t c) {
    tx_byte = c;
    UARTE_TXD_PTR = (uint32_t)(uintptr_t)&tx_byte;
    UARTE_TXD_MAXCNT = 1u;
    UARTE_ENDTX = 0u;
    UARTE_STARTTX = 1u;
    while (!UARTE_ENDTX) {
    }
    UARTE_ENDTX = 0u;
}

int hil_uart_rx_ready(void) { return UARTE_ENDRX != 0u; }

uint8_t hil_uart_getc(void) {
    while (!hil_uart_rx_ready()) {
    }
    uint8_t c = rx_byte;
    start_rx();
    return c;
}
