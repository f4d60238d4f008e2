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

/* Free-running up-counter; differences are taken modulo 2^32. */
void hil_counter_init(void);
uint32_t hil_counter_now(void);

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
