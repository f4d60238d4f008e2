/* Activation kernels, float32; see activations.h. */
#include "activations.h"

#include <math.h>

void hil_clamp_f32(const float *in, float *out, int32_t n, float lo, float hi)
{
    for (int32_t i = 0; i < n; ++i) {
        const float v = in[i];
        out[i] = v > hi ? hi : (v < lo ? lo : v);
    }
}

void hil_leaky_relu_f32(const float *in, float *out, int32_t n, float alpha)
{
    for (int32_t i = 0; i < n; ++i) {
        const float v = in[i];
        out[i] = v > 0.0f ? v : v * alpha;
    }
}

void hil_logistic_f32(const float *in, float *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        const float v = in[i];
        float r;
        if (v > 16.619047164916992188f) {
            r = 1.0f;
        } else if (v < -9.0f) {
            r = expf(v);
        } else {
            r = 1.0f / (1.0f + expf(-v));
        }
        out[i] = r;
    }
}

void hil_tanh_f32(const float *in, float *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = tanhf(in[i]);
    }
}

void hil_hard_swish_f32(const float *in, float *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        const float v = in[i];
        const float r = v + 3.0f;
        out[i] = v * (r > 6.0f ? 6.0f : (r < 0.0f ? 0.0f : r)) / 6.0f;
    }
}
