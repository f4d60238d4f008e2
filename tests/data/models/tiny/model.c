/* Weights named hil_w_* like generated models, so footprint tests can count them. */
#include "model.h"

const int8_t hil_w_a[64] = {1, 2, 3, 4, 5, 6, 7, 8};
const int8_t hil_w_b[200] = {9};
uint8_t hil_arena[512];

int model_run(const uint8_t *in, uint8_t *out) {
    uint32_t acc = 0;
    for (unsigned i = 0; i < MODEL_IN; i++) {
        hil_arena[i] = (uint8_t)(in[i] + (uint8_t)hil_w_a[i % 64] + (uint8_t)hil_w_b[i]);
        acc += hil_arena[i] * (i + 1u);
    }
    out[0] = (uint8_t)acc;
    out[1] = (uint8_t)(acc >> 8);
    return 0;
}

/* Exercises the float ABI: 1 when sqrt(2)^2 rounds back to ~2 (FPU or soft float). */
int model_float_check(void) {
    volatile float x = 2.0f;
    float r = x * 0.5f + 0.5f;
    for (int i = 0; i < 8; i++) r = 0.5f * (r + x / r);
    return (r * r > 1.999f && r * r < 2.001f) ? 1 : 0;
}
