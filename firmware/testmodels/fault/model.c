/* TEST MODEL "fault" (see model.h). */
#include <stdint.h>
#include "model.h"

__attribute__((noinline)) void testmodel_fault_udf(void) { __asm volatile(".short 0xde00" ::: "memory"); }

__attribute__((noinline)) uint32_t testmodel_fault_load(void) {
    return *(volatile uint32_t *)(uintptr_t)TESTMODEL_BAD_ADDRESS;
}

int hil_model_invoke(const void *in, void *out) {
    const uint8_t *x = (const uint8_t *)in;
    uint32_t v = 0;
    if (x[0] == 1) {
        v = testmodel_fault_load();
    } else {
        testmodel_fault_udf();
    }
    uint8_t *y = (uint8_t *)out;
    for (int i = 0; i < HIL_MODEL_OUTPUT_BYTES; i++) y[i] = (uint8_t)(v >> (8 * i));
    return 0;
}

void hil_model_reset(void) {}
