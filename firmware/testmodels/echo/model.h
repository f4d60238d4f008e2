/* TEST MODEL "echo": not a neural network. A deterministic byte transform (FNV-style running
 * hash, then 4 mixing passes) that implements the model C API so the runtime, protocol and
 * counters can be tested end to end. It is stateful: each invoke mixes in the number of
 * invokes since the last reset, so reset_state is observable. Host reference:
 * tests/test_link_qemu.py::echo_reference. */
#ifndef HIL_TESTMODEL_ECHO_H
#define HIL_TESTMODEL_ECHO_H

#define HIL_MODEL_NAME "echo"
#define HIL_MODEL_HASH "testmodel-echo-v1"
/* -DHIL_ECHO_BYTES=n sizes both buffers (benchmarks/link_throughput.py uses 27648, a VWW image) */
#ifndef HIL_ECHO_BYTES
#define HIL_ECHO_BYTES 490
#endif
#define HIL_MODEL_INPUT_BYTES HIL_ECHO_BYTES
#define HIL_MODEL_OUTPUT_BYTES HIL_ECHO_BYTES
#define HIL_MODEL_ARENA_BYTES 32
#define HIL_MODEL_NUM_LAYERS 2

int hil_model_invoke(const void *in, void *out);
void hil_model_reset(void);

#endif
