/* A tiny stand-in "model" for build/footprint tests (not a real model). */
#ifndef MODEL_H
#define MODEL_H
#include <stdint.h>
#define MODEL_IN 16
#define MODEL_OUT 2
int model_run(const uint8_t *in, uint8_t *out);
int model_float_check(void);
#endif
