/* TEST MODEL "hang" (see model.h). */
#include <stdint.h>
#include "model.h"

__attribute__((noinline)) void testmodel_hang_forever(volatile uint32_t *spin) {
    for (;;) (*spin)++;
}

int hil_model_invoke(const void *in, void *out) {
    (void)in;
    (void)out;
    static volatile uint32_t spin;
    testmodel_hang_forever(&spin);
    return 0;
}

void hil_model_reset(void) {}
