/* TEST MODEL "hang": invoking it never returns, to test timeouts and process reaping. */
#ifndef HIL_TESTMODEL_HANG_H
#define HIL_TESTMODEL_HANG_H

#define HIL_MODEL_NAME "hang"
#define HIL_MODEL_HASH "testmodel-hang-v1"
#define HIL_MODEL_INPUT_BYTES 4
#define HIL_MODEL_OUTPUT_BYTES 4
#define HIL_MODEL_ARENA_BYTES 0
#define HIL_MODEL_NUM_LAYERS 1

int hil_model_invoke(const void *in, void *out);
void hil_model_reset(void);

#endif
