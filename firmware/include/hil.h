/* Runtime interfaces shared by the startup code, the protocol loop, UART drivers and counters.
 *
 * Exactly one UART driver (firmware/uart/<kind>.c) and one counter (firmware/counter/<kind>.c)
 * are linked into a firmware image; the build picks them from the board file. */
#ifndef HIL_H
#define HIL_H

#include <stdint.h>
#include <stddef.h>

#ifndef HIL_BOARD_NAME
#define HIL_BOARD_NAME "unknown"
#endif
#ifndef HIL_CORE
#define HIL_CORE "unknown"
#endif
#ifndef HIL_COUNTER_KIND
#define HIL_COUNTER_KIND "unknown"
#endif
#ifndef HIL_COUNTER_HZ
#define HIL_COUNTER_HZ 0
#endif
#ifndef HIL_COUNTER_BASE
#define HIL_COUNTER_BASE 0
#endif
#ifndef HIL_STACK_BYTES
#define HIL_STACK_BYTES 0
#endif
#ifndef HIL_SEMIHOSTING
#define HIL_SEMIHOSTING 0
#endif
/* MAILBOX_FILES (semihosting files for the memory transport, docs/protocol.md): opt-in. */
#ifndef HIL_MAILBOX_FILES
#define HIL_MAILBOX_FILES 0
#endif
#if HIL_MAILBOX_FILES && !HIL_SEMIHOSTING
#error "HIL_MAILBOX_FILES needs semihosting (an emulated board)"
#endif

/* Largest frame payload the firmware accepts (announced in HELLO). Small on purpose: the
 * receive buffer is static RAM and the smallest board (microbit) has 16 KB. */
#ifndef HIL_MAX_PAYLOAD
#define HIL_MAX_PAYLOAD 256
#endif

/* Semihosting exit code that means "the firmware faulted" (the host maps it to DeviceFault). */
#define HIL_EXIT_FAULT 0x7A

/* Word written over the unused stack at boot; the high-water scan looks for it. */
#define HIL_STACK_PAINT 0xA5A5A5A5u

/* ARMv7-M and ARMv8-M mainline have the configurable fault status registers; ARMv6-M does not. */
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define HIL_HAS_CFSR 1
#else
#define HIL_HAS_CFSR 0
#endif

/* ARMv8-M mainline has the MSPLIM stack limit register. */
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
#define HIL_HAS_MSPLIM 1
#else
#define HIL_HAS_MSPLIM 0
#endif

#ifndef HIL_REG32 /* the host build of firmware/clock/ (tests/test_clocks.py) maps it onto fake registers */
#define HIL_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#endif

/* Set once the UART is initialised: a fault before that must not wait on a dead UART. */
extern volatile int hil_uart_ready;

/* Sleeping while waiting for the host: a driver that enables its RX interrupt brackets a WFI
 * with these (PRIMASK set, every NVIC line enabled, nothing pending). The CPU wakes when the
 * line goes pending but no handler ever runs: the lines are disabled and cleared again before
 * PRIMASK is released. An idle emulator then sleeps instead of spinning a host core.
 * -DHIL_UART_SLEEP=0 falls back to plain polling. */
#ifndef HIL_UART_SLEEP
#define HIL_UART_SLEEP 1
#endif
void hil_irq_wait_begin(void);
void hil_irq_wait_end(void);

/* Clock bring-up (firmware/clock/<chip>.c; boards without a [clock] table keep the weak no-op):
 * runs first in Reset_Handler, so everything after it sees the board's clock_hz. */
void hil_clock_init(void);

/* UART driver (polled, blocking). */
void hil_uart_init(void);
void hil_uart_putc(uint8_t c);
uint8_t hil_uart_getc(void);
/* Nonzero when a received byte is waiting (hil_uart_getc would not block). */
int hil_uart_rx_ready(void);

/* Free-running 64-bit up-counter: each driver (firmware/counter/<kind>.c) extends its hardware
 * counter across wraps (an overflow interrupt, or polling from SysTick for DWT). */
void hil_counter_init(void);
uint64_t hil_counter_now(void);

/* Set by a counter driver when it saw a wrap it cannot vouch for: a wrap noticed more than half
 * a hardware period late (interrupts were masked that long, so a whole wrap may have gone
 * unseen). The protocol loop clears it before an inference and reports it with the count. */
extern volatile uint32_t hil_counter_unsure;

/* Counter overflow interrupts. External IRQs all enter hil_irq_entry, which calls the driver's
 * hil_counter_irq() (returns nonzero when it served its interrupt); any other IRQ is reported
 * like a fault. hil_nvic_claim(raise, lower) finds the NVIC line a peripheral drives (boards wire
 * the same timer to different lines: MPS2 timer0 8, MPS2-TZ 3, nRF51 TIMER0 8) by letting
 * raise() assert its interrupt once; after lower() deasserts it, the line is enabled and stays
 * enabled (its pending state kept) across the UART's WFI waits. Returns the line or -1. */
int hil_counter_irq(void);
int hil_nvic_claim(void (*raise)(void), void (*lower)(void));

/* One semihosting call (bkpt 0xAB, r0 = op, r1 = arg; returns r0); only when HIL_SEMIHOSTING. */
int32_t hil_semihost(uint32_t op, const void *arg);

/* Semihosting exit (only does something when HIL_SEMIHOSTING), otherwise spins forever. */
void hil_exit(int code) __attribute__((noreturn));

/* Painted guard zone below the stack region (bytes; 0 when .bss reaches the stack). */
#ifndef HIL_STACK_GUARD_BYTES
#define HIL_STACK_GUARD_BYTES 256u
#endif

/* Stack high-water mark in bytes, from the painted stack; more than hil_stack_size() means
 * the stack overflowed into the guard zone. */
uint32_t hil_stack_high_water(void);
uint32_t hil_stack_size(void);
uint32_t hil_stack_guard_bytes(void);

/* CRC-32 (IEEE 802.3, same as zlib.crc32); pass 0 as the initial crc. */
uint32_t hil_crc32(uint32_t crc, const void *data, size_t len);

/* Frame output, used by the protocol loop and by the fault handler. */
void hil_send_frame(uint8_t type, uint8_t seq, const void *payload, uint16_t len);

#endif
