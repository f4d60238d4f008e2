/* Mini runtime for build tests: vector table, .data/.bss init, one report line, exit. */
#include <stdint.h>
#include "mini.h"
#include "model.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
void Reset_Handler(void);
static void Fault_Handler(void);

__attribute__((section(".isr_vector"), used))
const void *const mini_vectors[16] = {
    &_estack, (void *)Reset_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
    (void *)Fault_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
};

static void semihost_exit(uint32_t code) {
    uint32_t block[2] = {0x20026u, code};
    register uint32_t r0 __asm__("r0") = 0x20u;
    register uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

static void Fault_Handler(void) { semihost_exit(99); }

static void puts_(const char *s) { while (*s) mini_uart_putc(*s++); }

static void putu(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do { buf[--i] = (char)('0' + v % 10u); v /= 10u; } while (v);
    puts_(&buf[i]);
}

static volatile uint32_t initialised = 0x1234u; /* checks the .data copy */
static volatile uint32_t zeroed;                /* checks the .bss clear */

__attribute__((noinline)) static void spin(uint32_t n) {
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
}

int main(void) {
    static uint8_t in[MODEL_IN], out[MODEL_OUT];
    uint32_t local = 0;
    uint32_t t0, t1;
    mini_uart_init();
    mini_counter_init();
    for (unsigned i = 0; i < MODEL_IN; i++) in[i] = (uint8_t)i;
    int rc = model_run(in, out);
    t0 = mini_counter_read();
    spin(10000u);
    t1 = mini_counter_read();
    puts_("MINI board=" HIL_BOARD_NAME " core=" HIL_CORE " data=");
    putu(initialised);
    puts_(" bss=");
    putu(zeroed);
    puts_(" stack_ok=");
    putu((uintptr_t)&local > (uintptr_t)&_sstack && (uintptr_t)&local < (uintptr_t)&_estack);
    puts_(" out=");
    putu(out[0] | (uint32_t)out[1] << 8);
    puts_(" fpu=");
    putu((uint32_t)model_float_check());
    puts_(" ticks=");
    putu(t1 - t0);
    puts_("\n");
    semihost_exit((uint32_t)rc);
    return 0;
}

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10/CP11 full access */
    __asm__ volatile("dsb\n\tisb");
#endif
    main();
    for (;;) {
    }
}
