/* TEST MODEL "workload": a controllable amount of work, to test counters and the stack.
 * input  = u32 LE spin iterations, u32 LE recursion depth (each level uses ~80 bytes of stack)
 * output = u32 LE checksum of the recursion (depth-dependent, so the work cannot be skipped).
 * Depth bits 16..23: that many words of stack are taken before recursing (moves where the
 * recursion meets the stack limit). depth = 0x80000000 | b: no recursion; the spin runs with interrupts masked, starting right
 * after bit b of the 64-bit counter changed (tests what a counter can vouch for). */
#ifndef HIL_TESTMODEL_WORKLOAD_H
#define HIL_TESTMODEL_WORKLOAD_H

#define HIL_MODEL_NAME "workload"
#define HIL_MODEL_HASH "testmodel-workload-v1"
#define HIL_MODEL_INPUT_BYTES 8
#define HIL_MODEL_OUTPUT_BYTES 4
#define HIL_MODEL_ARENA_BYTES 0
#define HIL_MODEL_NUM_LAYERS 2

int hil_model_invoke(const void *in, void *out);
void hil_model_reset(void);

#endif
