/* TEST MODEL "workload" (see model.h). */
#include <stdint.h>
#include "model.h"

#ifdef HIL_MODEL_PROFILE
void hil_model_layer_hook(int layer, int end);
#define HOOK(l, e) hil_model_layer_hook((l), (e))
#else
#define HOOK(l, e) ((void)0)
#endif

#define MASKED 0x80000000u

__attribute__((noinline)) void testmodel_spin(uint32_t n) {
    for (uint32_t i = 0; i < n; i++) __asm volatile("" ::: "memory");
}

__attribute__((noinline)) uint32_t testmodel_recurse(uint32_t depth, const volatile uint8_t *up) {
    volatile uint8_t frame[64];
    frame[0] = (uint8_t)(depth * 7u + up[0]);
    frame[63] = (uint8_t)depth;
    if (depth == 0) return frame[0];
    return testmodel_recurse(depth - 1u, frame) * 3u + frame[63];
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t hil_counter_now(void);

/* Spin with interrupts masked, starting right after the counter's bit `bit` changed (so the
 * masked stretch starts at a known phase of a 2^bit-tick counter period). */
static void spin_masked(uint32_t n, uint32_t bit) {
    uint64_t start = hil_counter_now() >> bit;
    while ((hil_counter_now() >> bit) == start) {
    }
    __asm volatile("cpsid i" ::: "memory");
    testmodel_spin(n);
    __asm volatile("cpsie i" ::: "memory");
}

int hil_model_invoke(const void *in, void *out) {
    const uint8_t *x = (const uint8_t *)in;
    uint8_t *y = (uint8_t *)out;
    static const volatile uint8_t seed[1] = {1};
    uint32_t depth = rd32(x + 4);
    HOOK(0, 0);
    if (depth & MASKED) {
        spin_masked(rd32(x), depth & 63u);
        depth = 0;
    } else {
        testmodel_spin(rd32(x));
    }
    HOOK(0, 1);
    HOOK(1, 0);
    /* Bits 16..23: words to take off the stack first, to move where a deep recursion meets the
     * stack limit relative to its frames (tests of the v8-M stack limit). */
    volatile uint8_t *pad = __builtin_alloca(((depth >> 16) & 0xFFu) * 4u + 4u);
    pad[0] = 0;
    uint32_t r = testmodel_recurse(depth & 0xFFFFu, seed);
    HOOK(1, 1);
    for (int i = 0; i < 4; i++) y[i] = (uint8_t)(r >> (8 * i));
    return 0;
}

void hil_model_reset(void) {}
