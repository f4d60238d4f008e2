/* Reset and exception entry: vector table, memory init, FPU enable, stack painting, fault
 * capture. Faults are reported as a FAULT frame over the UART, then the run ends with
 * HIL_EXIT_FAULT through semihosting (emulators) or spins (hardware), so a crash is never
 * mistaken for a hang. */
#include <stdint.h>
#include "hil.h"
#include "hil_protocol.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
int main(void);

#define SCB_ICSR HIL_REG32(0xE000ED04)
#define SCB_SHCSR HIL_REG32(0xE000ED24)
#define SCB_CFSR HIL_REG32(0xE000ED28)
#define SCB_HFSR HIL_REG32(0xE000ED2C)
#define SCB_MMFAR HIL_REG32(0xE000ED34)
#define SCB_BFAR HIL_REG32(0xE000ED38)
#define SCB_CPACR HIL_REG32(0xE000ED88)

void Reset_Handler(void) __attribute__((noreturn));
void hil_fault_entry(void);
void hil_irq_entry(void);
void SysTick_Handler(void) __attribute__((weak, alias("hil_fault_entry")));

/* Cortex-M vector table: 16 system entries, then a few external IRQs (the counter's overflow
 * interrupt, wherever the board wires it; any other one is reported like a fault). */
__attribute__((section(".isr_vector"), used)) void (*const hil_vectors[32])(void) = {
    (void (*)(void))(&_estack),
    Reset_Handler,
    hil_fault_entry, /* NMI */
    hil_fault_entry, /* HardFault */
    hil_fault_entry, /* MemManage */
    hil_fault_entry, /* BusFault */
    hil_fault_entry, /* UsageFault */
    hil_fault_entry, /* SecureFault (v8-M) */
    0, 0, 0,
    hil_fault_entry, /* SVCall */
    hil_fault_entry, /* DebugMonitor */
    0,
    hil_fault_entry, /* PendSV */
    SysTick_Handler,
    hil_irq_entry, hil_irq_entry, hil_irq_entry, hil_irq_entry,
    hil_irq_entry, hil_irq_entry, hil_irq_entry, hil_irq_entry,
    hil_irq_entry, hil_irq_entry, hil_irq_entry, hil_irq_entry,
    hil_irq_entry, hil_irq_entry, hil_irq_entry, hil_irq_entry,
};

/* Lowest painted word: up to HIL_STACK_GUARD_BYTES below the stack region, in the unused gap
 * above .bss (no heap is used), so an overflow shows up as a high-water mark above the stack
 * size instead of going unnoticed. */
static volatile uint32_t *paint_start(void) {
    uintptr_t lo = (uintptr_t)&_sstack - HIL_STACK_GUARD_BYTES;
    if (lo < (uintptr_t)&_ebss) lo = ((uintptr_t)&_ebss + 3u) & ~(uintptr_t)3u;
    return (volatile uint32_t *)lo;
}

uint32_t hil_stack_guard_bytes(void) { return (uint32_t)((uintptr_t)&_sstack - (uintptr_t)paint_start()); }

/* Boards without a [clock] table keep the clock they start with. */
__attribute__((weak)) void hil_clock_init(void) {}

void Reset_Handler(void) {
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFu << 20; /* CP10/CP11 full access before any FP instruction */
    __asm volatile("dsb\n isb" ::: "memory");
#endif
    volatile uint32_t *src = &_sidata;
    volatile uint32_t *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;

    /* Paint the unused stack below the current SP, plus a guard zone below the stack region
     * (volatile: no memset call below SP). */
    uint32_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (dst = paint_start(); (uintptr_t)dst < sp - 16u;) *dst++ = HIL_STACK_PAINT;

#if HIL_HAS_CFSR
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18); /* separate Mem/Bus/Usage faults */
#endif
#if HIL_HAS_MSPLIM
    /* ARMv8-M stack limit: overflowing the stack region raises a UsageFault (STKOF) at once
     * instead of silently corrupting .bss. */
    __asm volatile("msr msplim, %0" ::"r"(&_sstack));
#endif
    hil_clock_init();
    main();
    hil_exit(0);
}

volatile int hil_uart_ready;

#define NVIC_ISER(n) HIL_REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) HIL_REG32(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n) HIL_REG32(0xE000E280u + 4u * (n))
#define SCS_ICTR HIL_REG32(0xE000E004u)

static uint32_t nvic_banks(void) {
#if HIL_HAS_CFSR
    return (SCS_ICTR & 0xFu) + 1u; /* 32 lines per bank */
#else
    return 1u; /* ARMv6-M: at most 32 lines, no ICTR */
#endif
}

#define NVIC_ISPR(n) HIL_REG32(0xE000E200u + 4u * (n))

/* The counter's overflow line (hil_nvic_claim), -1 if none: it stays enabled, and its pending
 * state is never cleared, so no wrap is lost while the CPU waits for the host. */
static int counter_line = -1;

static uint32_t others(uint32_t bank) {
    return counter_line >= 0 && (uint32_t)counter_line / 32u == bank ? ~(1u << ((uint32_t)counter_line % 32u))
                                                                      : 0xFFFFFFFFu;
}

void hil_irq_wait_begin(void) {
    __asm volatile("cpsid i" ::: "memory");
    for (uint32_t n = 0, banks = nvic_banks(); n < banks; n++) {
        NVIC_ICPR(n) = others(n);
        NVIC_ISER(n) = 0xFFFFFFFFu;
    }
}

void hil_irq_wait_end(void) {
    for (uint32_t n = 0, banks = nvic_banks(); n < banks; n++) {
        NVIC_ICER(n) = others(n);
        NVIC_ICPR(n) = others(n);
    }
    __asm volatile("cpsie i" ::: "memory"); /* only SysTick and the counter's line may run */
}

int hil_nvic_claim(void (*raise)(void), void (*lower)(void)) {
    uint32_t banks = nvic_banks();
    for (int attempt = 0; attempt < 3; attempt++) {
        for (uint32_t n = 0; n < banks; n++) NVIC_ICPR(n) = 0xFFFFFFFFu;
        raise();
        lower(); /* the NVIC keeps the line pending */
        uint32_t line = 0, found = 0;
        for (uint32_t n = 0; n < banks; n++) {
            for (uint32_t b = 0, p = NVIC_ISPR(n); p; b++, p >>= 1) {
                if (p & 1u) {
                    found++;
                    line = 32u * n + b;
                }
            }
        }
        if (found == 1u) { /* else another line (a UART byte) went pending too: try again */
            NVIC_ICPR(line / 32u) = 1u << (line % 32u);
            counter_line = (int)line;
            NVIC_ISER(line / 32u) = 1u << (line % 32u);
            return (int)line;
        }
    }
    return -1;
}

/* Drivers without an overflow interrupt serve none. */
__attribute__((weak)) int hil_counter_irq(void) { return 0; }

/* External IRQ: the counter driver serves its own; anything else goes to the fault report with
 * the exception state untouched (LR = EXC_RETURN, SP = the stacked frame). ARMv6-M safe. */
__attribute__((naked)) void hil_irq_entry(void) {
    __asm volatile(
        "push {r0, lr}\n" /* r0 keeps the stack 8-byte aligned */
        "bl hil_counter_irq\n"
        "pop {r1, r2}\n"
        "mov lr, r2\n"
        "cmp r0, #0\n"
        "beq 1f\n"
        "bx lr\n"
        "1: ldr r3, =hil_fault_entry\n"
        "bx r3\n"
        ".ltorg\n");
}

uint32_t hil_stack_size(void) { return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack); }

uint32_t hil_stack_high_water(void) {
    const volatile uint32_t *p = paint_start();
    while (p < &_estack && *p == HIL_STACK_PAINT) p++;
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

#if HIL_SEMIHOSTING
int32_t hil_semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm("r0") = op;
    register uint32_t r1 __asm("r1") = (uint32_t)(uintptr_t)arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}
#endif

void hil_exit(int code) {
#if HIL_SEMIHOSTING
    /* SYS_EXIT_EXTENDED(ADP_Stopped_ApplicationExit, code): QEMU exits with `code`. */
    static uint32_t block[2];
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    hil_semihost(0x20u, block);
#else
    (void)code;
#endif
    for (;;) {
    }
}

/* The fault handler runs on its own small stack: the main stack may be the thing that broke. */
uint32_t hil_fault_stack[96] __attribute__((aligned(8), used));

/* Called from hil_fault_entry with the stacked exception frame and EXC_RETURN. */
void hil_fault_report(const uint32_t *frame, uint32_t exc_return) __attribute__((noreturn, used));
void hil_fault_report(const uint32_t *frame, uint32_t exc_return) {
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    uint32_t r[16];
    r[0] = ipsr & 0x1FFu;
    for (int i = 0; i < 8; i++) r[1 + i] = frame[i]; /* r0 r1 r2 r3 r12 lr pc xpsr */
#if HIL_HAS_CFSR
    r[9] = SCB_CFSR;
    r[10] = SCB_HFSR;
    r[11] = SCB_MMFAR;
    r[12] = SCB_BFAR;
#else
    r[9] = r[10] = r[11] = r[12] = 0;
#endif
    r[13] = (uint32_t)(uintptr_t)frame;
    r[14] = exc_return;
    r[15] = HIL_HAS_CFSR ? 1u : 0u;
#if HIL_HAS_MSPLIM
    /* A stack-limit fault with too little room left for the exception frame: the core skips
     * stacking it and sets SP to the limit, so the "stacked" registers are stale memory. */
    if ((SCB_CFSR & (1u << 20)) && (uintptr_t)frame == (uintptr_t)&_sstack) r[15] |= 2u;
#endif
    uint8_t payload[64];
    for (int i = 0; i < 16; i++) {
        payload[4 * i] = (uint8_t)r[i];
        payload[4 * i + 1] = (uint8_t)(r[i] >> 8);
        payload[4 * i + 2] = (uint8_t)(r[i] >> 16);
        payload[4 * i + 3] = (uint8_t)(r[i] >> 24);
    }
    if (hil_uart_ready) hil_send_frame(HIL_MSG_FAULT, 0, payload, sizeof payload);
    hil_exit(HIL_EXIT_FAULT);
}

/* Works on ARMv6-M too (no IT blocks, no tst with immediates): pick MSP or PSP from
 * EXC_RETURN bit 2, switch to the fault stack (lifting the v8-M stack limit first) and hand
 * over to C. */
__attribute__((naked)) void hil_fault_entry(void) {
    __asm volatile(
        "movs r0, #4\n"
        "mov r1, lr\n"
        "tst r0, r1\n"
        "beq 1f\n"
        "mrs r0, psp\n"
        "b 2f\n"
        "1: mrs r0, msp\n"
        "2:\n"
#if HIL_HAS_MSPLIM
        "movs r2, #0\n"
        "msr msplim, r2\n"
#endif
        "ldr r2, =hil_fault_stack + 384\n"
        "mov sp, r2\n"
        "bl hil_fault_report\n"
        ".ltorg\n");
}
