/* TEST MODEL "fault": invoking it crashes the firmware on purpose, to test fault capture.
 * input[0] == 0: undefined instruction (UDF) in testmodel_fault_udf();
 * input[0] == 1: load from an unmapped address in testmodel_fault_load(). */
#ifndef HIL_TESTMODEL_FAULT_H
#define HIL_TESTMODEL_FAULT_H

#define HIL_MODEL_NAME "fault"
#define HIL_MODEL_HASH "testmodel-fault-v1"
#define HIL_MODEL_INPUT_BYTES 4
#define HIL_MODEL_OUTPUT_BYTES 4
#define HIL_MODEL_ARENA_BYTES 0
#define HIL_MODEL_NUM_LAYERS 1

#ifndef TESTMODEL_BAD_ADDRESS
#define TESTMODEL_BAD_ADDRESS 0xF0000000u
#endif

int hil_model_invoke(const void *in, void *out);
void hil_model_reset(void);

#endif
