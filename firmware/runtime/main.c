/* The protocol loop: announce with a BOOT frame, then serve host commands forever.
 * Frame layout and commands: docs/protocol.md. One input and one output buffer sized by the
 * model; replies are streamed straight to the UART (no transmit buffer). */
#include <stdint.h>
#include <string.h>
#include "hil.h"
#include "hil_protocol.h"
#include "model.h"

static uint8_t rx_payload[HIL_MAX_PAYLOAD];
/* The mailbox: the memory transport's host reads and writes these two buffers directly. Their
 * own section, so the linker can put them in the board's [memory.mailbox] (on QEMU mps2 boards
 * RAM the host maps) or, without one, in RAM beside .bss (harness/firmware/linker.py). */
#define HIL_MAILBOX __attribute__((aligned(8), section(".hil_mailbox")))
static uint8_t input_buf[HIL_MODEL_INPUT_BYTES] HIL_MAILBOX;
static uint8_t output_buf[HIL_MODEL_OUTPUT_BYTES] HIL_MAILBOX;

static uint32_t invokes, bad_frames, overhead_ticks, hook_ticks, last_count_flags;
static uint64_t last_ticks;
static int32_t last_status;
volatile uint32_t hil_counter_unsure;
/* Memory transport (MEM_INVOKE): CRC-32 of the input mailbox as consumed and of the output as
 * written by the last inference, so the host can check what its debugger wrote and read. */
static uint32_t mailbox_in_crc, mailbox_out_crc;
static int mem_reply;

/* The memory doorbell (docs/protocol.md): where the host can reach RAM while the core runs
 * (QEMU shared RAM, Renode, SWD), it rings by writing `ring` after the input instead of sending
 * MEM_INVOKE over the UART, and polls `done` for the result block; no byte crosses the serial
 * link. The device polls `ring` for a while after each doorbell (`polling` = 1) and otherwise
 * sleeps on the UART: the host then sends one wake byte (any non-sync byte). Outside the
 * counted region: counts are the same whichever way an inference is started. */
struct hil_doorbell {
    volatile uint32_t ring;    /* host: sequence number of the request (input already written) */
    volatile uint32_t done;    /* device: `ring` of the last request served, after `result` */
    volatile uint32_t polling; /* device: 1 while it polls `ring` (no wake byte needed) */
    uint32_t result[9];        /* status, ticks lo, hi, output bytes, invokes, count flags,
                                * input CRC, output CRC, CRC-32 of `done` and the 8 words before */
};
static struct hil_doorbell doorbell HIL_MAILBOX;
#ifndef HIL_DOORBELL_SPIN /* polls of `ring` after a doorbell before sleeping on the UART again */
#define HIL_DOORBELL_SPIN 2000000u
#endif

#if HIL_MAILBOX_FILES
/* -DHIL_MAILBOX_FILES=1 (emulators with semihosting): SYS_READ/SYS_WRITE move the mailbox
 * straight between a host file and RAM (one trap each, no debugger round trips). Off by
 * default: it costs ~400 B of flash in every image, more than the suites' flash budgets allow. Per direction (0 in, 1 out) the SYS_READ /
 * SYS_WRITE block {handle, buffer, length}; the handles come from MAILBOX_FILES. */
static uint32_t files[2][3];
static int mem_files; /* this MEM_INVOKE moves the mailbox through the files */

/* Rewind file `d` and move its buffer; 0 when every byte moved (the call returns the rest). */
static int32_t files_move(int d) {
    uint32_t seek[2] = {files[d][0], 0};
    hil_semihost(0x0A /* SYS_SEEK */, seek);
    return hil_semihost(d ? 0x05 /* SYS_WRITE */ : 0x06 /* SYS_READ */, files[d]);
}
#endif

#ifdef HIL_MODEL_PROFILE
static uint64_t layer_ticks[HIL_MODEL_NUM_LAYERS];
static uint64_t layer_start;

/* Called by the model around each layer; records the last invoke's ticks per layer. */
void hil_model_layer_hook(int layer, int end) {
    uint64_t now = hil_counter_now();
    if (!end) {
        layer_start = now;
    } else if (layer >= 0 && layer < HIL_MODEL_NUM_LAYERS) {
        layer_ticks[layer] = now - layer_start;
    }
}
#endif

/* ---- frame output: streamed, with a dry-run mode that only measures the length ---- */
static uint32_t tx_crc;
static uint32_t tx_len;
static int tx_dry;

static void tx_bytes(const void *data, size_t n) {
    tx_len += (uint32_t)n;
    if (tx_dry) return;
    const uint8_t *p = (const uint8_t *)data;
    tx_crc = hil_crc32(tx_crc, p, n);
    for (size_t i = 0; i < n; i++) hil_uart_putc(p[i]);
}

static void tx_u8(uint8_t v) { tx_bytes(&v, 1); }
static __attribute__((unused)) void tx_u16(uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    tx_bytes(b, 2);
}
static void tx_u32(uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tx_bytes(b, 4);
}
static void tx_u64(uint64_t v) {
    tx_u32((uint32_t)v);
    tx_u32((uint32_t)(v >> 32));
}
static void tx_str(const char *s) { tx_bytes(s, strlen(s)); }
static void tx_dec(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    tx_str(&buf[i]);
}

static void tx_begin(uint8_t type, uint8_t seq, uint16_t len) {
    uint8_t h[7] = {HIL_SYNC0, HIL_SYNC1, type, seq, (uint8_t)len, (uint8_t)(len >> 8), 0};
    h[6] = (uint8_t)(0xFFu ^ h[2] ^ h[3] ^ h[4] ^ h[5]);
    for (int i = 0; i < 7; i++) hil_uart_putc(h[i]);
    tx_crc = hil_crc32(0, &h[2], 4);
    tx_dry = 0;
    tx_len = 0;
}

static void tx_end(void) {
    uint32_t c = tx_crc;
    hil_uart_putc((uint8_t)c);
    hil_uart_putc((uint8_t)(c >> 8));
    hil_uart_putc((uint8_t)(c >> 16));
    hil_uart_putc((uint8_t)(c >> 24));
}

/* Send a frame whose payload is produced by `emit` (called twice: measure, then send). */
static void send_emitted(uint8_t type, uint8_t seq, void (*emit)(void)) {
    tx_dry = 1;
    tx_len = 0;
    emit();
    tx_begin(type, seq, (uint16_t)tx_len);
    emit();
    tx_end();
}

void hil_send_frame(uint8_t type, uint8_t seq, const void *payload, uint16_t len) {
    tx_begin(type, seq, len);
    tx_bytes(payload, len);
    tx_end();
}

static void send_error(uint8_t seq, uint8_t code, const char *text) {
    uint16_t len = (uint16_t)(1u + strlen(text));
    tx_begin(HIL_MSG_ERROR, seq, len);
    tx_u8(code);
    tx_str(text);
    tx_end();
}

/* ---- firmware identity (BOOT and HELLO payload), key=value lines ---- */
static void kv(const char *key, const char *value) {
    tx_str(key);
    tx_u8('=');
    tx_str(value);
    tx_u8('\n');
}
static void kvn(const char *key, uint32_t value) {
    tx_str(key);
    tx_u8('=');
    tx_dec(value);
    tx_u8('\n');
}

static void emit_identity(void) {
    kvn("proto", HIL_PROTO_VERSION);
    kv("model", HIL_MODEL_NAME);
    kv("hash", HIL_MODEL_HASH);
    kv("board", HIL_BOARD_NAME);
    kv("core", HIL_CORE);
    kv("counter", HIL_COUNTER_KIND);
    kvn("counter_hz", (uint32_t)HIL_COUNTER_HZ);
    kvn("overhead_ticks", overhead_ticks);
    kvn("hook_ticks", hook_ticks);
    kvn("arena", (uint32_t)HIL_MODEL_ARENA_BYTES);
    kvn("stack", hil_stack_size());
    kvn("input", (uint32_t)HIL_MODEL_INPUT_BYTES);
    kvn("output", (uint32_t)HIL_MODEL_OUTPUT_BYTES);
    kvn("layers", (uint32_t)HIL_MODEL_NUM_LAYERS);
    kvn("max_payload", (uint32_t)HIL_MAX_PAYLOAD);
#ifdef HIL_MODEL_PROFILE
    kvn("profile", 1);
#else
    kvn("profile", 0);
#endif
    kvn("semihosting", (uint32_t)HIL_SEMIHOSTING);
}

static void emit_result(void) {
    tx_u32((uint32_t)last_status);
    tx_u64(last_ticks);
    tx_u32((uint32_t)HIL_MODEL_OUTPUT_BYTES);
    tx_u32(invokes);
    tx_u32(last_count_flags);
}

/* Cortex-M is little-endian: a word array goes out as the protocol's u32 fields. */
static void emit_mem_result(void) {
    const uint32_t crcs[2] = {mailbox_in_crc, mailbox_out_crc};
    emit_result();
    tx_bytes(crcs, sizeof crcs);
}

static void emit_mailbox(void) {
    const uint32_t v[7] = {(uint32_t)(uintptr_t)input_buf, HIL_MODEL_INPUT_BYTES, (uint32_t)(uintptr_t)output_buf,
                           HIL_MODEL_OUTPUT_BYTES, mailbox_in_crc, mailbox_out_crc, (uint32_t)(uintptr_t)&doorbell};
    tx_bytes(v, sizeof v);
}

static void emit_stats(void) {
    tx_u32(hil_stack_high_water());
    tx_u32(hil_stack_size());
    tx_u32(invokes);
    tx_u32(bad_frames);
    tx_u32(hil_stack_guard_bytes());
}

/* The counted inference on input_buf, the same for every way it is started. */
static void run_invoke(void) {
#ifdef HIL_MODEL_PROFILE
    memset(layer_ticks, 0, sizeof layer_ticks);
#endif
    hil_counter_unsure = 0u;
    uint64_t t0 = hil_counter_now();
    int st = hil_model_invoke(input_buf, output_buf);
    uint64_t t1 = hil_counter_now();
    last_count_flags = hil_counter_unsure ? HIL_COUNT_UNSURE : 0u;
    last_status = st;
    last_ticks = t1 - t0;
    invokes++;
}

static int doorbell_rung(void) { return doorbell.ring != doorbell.done; }

/* Serve the doorbell: the same counted inference as MEM_INVOKE, its reply in the result block. */
static void serve_doorbell(void) {
    uint32_t seq = doorbell.ring;
    mailbox_in_crc = hil_crc32(0, input_buf, HIL_MODEL_INPUT_BYTES);
    run_invoke();
    mailbox_out_crc = hil_crc32(0, output_buf, HIL_MODEL_OUTPUT_BYTES);
    uint32_t *r = doorbell.result;
    r[0] = (uint32_t)last_status;
    r[1] = (uint32_t)last_ticks;
    r[2] = (uint32_t)(last_ticks >> 32);
    r[3] = HIL_MODEL_OUTPUT_BYTES;
    r[4] = invokes;
    r[5] = last_count_flags;
    r[6] = mailbox_in_crc;
    r[7] = mailbox_out_crc;
    r[8] = hil_crc32(hil_crc32(0, &seq, 4), r, 32);
    /* polling from here on (poll_doorbell follows every serve), so the host's next ring, which
     * may come as soon as it sees `done`, does not find polling 0 and send a needless wake byte */
    doorbell.polling = 1u;
    __asm volatile("dmb" ::: "memory"); /* the result before `done`, for a host reading over SWD */
    doorbell.done = seq;
}

/* After a doorbell, poll for the next one until the UART has a byte or the spin runs out. */
static void poll_doorbell(void) {
    for (;;) {
        for (uint32_t spin = 0; spin < HIL_DOORBELL_SPIN; spin++) {
            if (doorbell_rung()) {
                serve_doorbell();
                spin = 0;
            }
            /* the UART's flag every 16th look: a register read is slow in an emulator (Renode) */
            if ((spin & 15u) == 0u && hil_uart_rx_ready()) break;
        }
        doorbell.polling = 0u;
        /* `polling` 0 is visible before this last look at `ring`: a ring the look misses finds
         * polling 0 and the host sends the wake byte */
        __asm volatile("dmb" ::: "memory");
        if (!doorbell_rung()) return;
        serve_doorbell();
    }
}

/* ---- frame input ---- */
static uint32_t rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* Block until a well-formed frame arrives (returns 1) or a byte outside a frame finds the
 * doorbell rung (returns 0: the host's wake byte). Bad frames are answered with ERROR and the
 * receiver goes back to hunting for the sync bytes. */
static int recv_frame(uint8_t *type, uint8_t *seq, uint16_t *len) {
    for (;;) {
        uint8_t c = hil_uart_getc();
        if (c != HIL_SYNC0) {
            if (doorbell_rung()) return 0;
            continue;
        }
        do c = hil_uart_getc();
        while (c == HIL_SYNC0);
        if (c != HIL_SYNC1) continue;
        uint8_t h[5];
        for (int i = 0; i < 5; i++) h[i] = hil_uart_getc();
        if ((uint8_t)(0xFFu ^ h[0] ^ h[1] ^ h[2] ^ h[3]) != h[4]) {
            bad_frames++;
            send_error(0, HIL_ERR_BAD_HEADER, "bad header check");
            continue;
        }
        uint16_t n = rd_u16(&h[2]);
        if (n > HIL_MAX_PAYLOAD) {
            bad_frames++;
            send_error(h[1], HIL_ERR_TOO_LONG, "payload longer than max_payload");
            continue;
        }
        for (uint16_t i = 0; i < n; i++) rx_payload[i] = hil_uart_getc();
        uint8_t t[4];
        for (int i = 0; i < 4; i++) t[i] = hil_uart_getc();
        uint32_t crc = hil_crc32(hil_crc32(0, h, 4), rx_payload, n);
        if (crc != rd_u32(t)) {
            bad_frames++;
            send_error(h[1], HIL_ERR_BAD_CRC, "bad crc");
            continue;
        }
        *type = h[0];
        *seq = h[1];
        *len = n;
        return 1;
    }
}

static void handle(uint8_t type, uint8_t seq, uint16_t len) {
    const uint8_t *p = rx_payload;
    uint8_t reply = (uint8_t)(type | HIL_REPLY);
    switch (type) {
    case HIL_CMD_HELLO:
        send_emitted(reply, seq, emit_identity);
        return;
    case HIL_CMD_LOAD: {
        if (len < 4) break;
        uint32_t off = rd_u32(p), n = len - 4u;
        if (off > HIL_MODEL_INPUT_BYTES || n > HIL_MODEL_INPUT_BYTES - off) {
            send_error(seq, HIL_ERR_BAD_ARGS, "LOAD beyond input_bytes");
            return;
        }
        memcpy(&input_buf[off], p + 4, n);
        hil_send_frame(reply, seq, 0, 0);
        return;
    }
#if HIL_MAILBOX_FILES
    case HIL_CMD_MAILBOX_FILES: { /* payload: input path NUL output path NUL */
        if (len < 2 || p[len - 1] != 0) break;
        const char *path = (const char *)p;
        for (int d = 0; d < 2; d++) {
            if (path >= (const char *)p + len) break;
            uint32_t n = (uint32_t)strlen(path);
            uint32_t open[3] = {(uint32_t)(uintptr_t)path, d ? 5u /* wb */ : 1u /* rb */, n};
            files[d][0] = (uint32_t)hil_semihost(0x01 /* SYS_OPEN */, open);
            files[d][1] = d ? (uint32_t)(uintptr_t)output_buf : (uint32_t)(uintptr_t)input_buf;
            files[d][2] = d ? HIL_MODEL_OUTPUT_BYTES : HIL_MODEL_INPUT_BYTES;
            path += n + 1;
        }
        if (path != (const char *)p + len) break;
        if ((int32_t)files[0][0] < 0 || (int32_t)files[1][0] < 0) {
            send_error(seq, HIL_ERR_BAD_ARGS, "mailbox open");
            return;
        }
        hil_send_frame(reply, seq, 0, 0);
        return;
    }
#endif
    case HIL_CMD_MEM_INVOKE:
#if HIL_MAILBOX_FILES
        mem_files = len >= 1 && (p[0] & HIL_MEM_FILES);
        if (mem_files && (files[0][2] == 0 || files_move(0) != 0)) {
            send_error(seq, HIL_ERR_BAD_ARGS, "mailbox read");
            return;
        }
#endif
        /* The mailbox is input_buf itself: CRC it outside the counted region, then run the
         * very same counted invoke as INVOKE, so both transports count the same. */
        mailbox_in_crc = hil_crc32(0, input_buf, HIL_MODEL_INPUT_BYTES);
        mem_reply = 1;
        /* fall through */
    case HIL_CMD_INVOKE: {
        run_invoke();
        if (mem_reply) {
            mailbox_out_crc = hil_crc32(0, output_buf, HIL_MODEL_OUTPUT_BYTES);
#if HIL_MAILBOX_FILES
            if (mem_files && files_move(1) != 0) {
                mem_reply = 0;
                send_error(seq, HIL_ERR_BAD_ARGS, "mailbox write");
                return;
            }
#endif
            mem_reply = 0;
            send_emitted(reply, seq, emit_mem_result);
            return;
        }
        send_emitted(reply, seq, emit_result);
        return;
    }
    case HIL_CMD_MAILBOX:
        send_emitted(reply, seq, emit_mailbox);
        return;
    case HIL_CMD_RESULT:
        send_emitted(reply, seq, emit_result);
        return;
    case HIL_CMD_READ: {
        if (len < 6) break;
        uint32_t off = rd_u32(p), n = rd_u16(p + 4);
        if (n > HIL_MAX_PAYLOAD || off > HIL_MODEL_OUTPUT_BYTES || n > HIL_MODEL_OUTPUT_BYTES - off) {
            send_error(seq, HIL_ERR_BAD_ARGS, "READ beyond output_bytes or max_payload");
            return;
        }
        hil_send_frame(reply, seq, &output_buf[off], (uint16_t)n);
        return;
    }
    case HIL_CMD_RESET_STATE:
        hil_model_reset();
        hil_send_frame(reply, seq, 0, 0);
        return;
    case HIL_CMD_STATS:
        send_emitted(reply, seq, emit_stats);
        return;
    case HIL_CMD_PROFILE: {
#ifdef HIL_MODEL_PROFILE
        uint16_t start = len >= 2 ? rd_u16(p) : 0;
        uint16_t total = HIL_MODEL_NUM_LAYERS;
        uint16_t count = start < total ? (uint16_t)(total - start) : 0;
        if (count > (HIL_MAX_PAYLOAD - 10) / 8) count = (HIL_MAX_PAYLOAD - 10) / 8;
        tx_begin(reply, seq, (uint16_t)(10u + 8u * count));
        tx_u16(total);
        tx_u16(start);
        tx_u16(count);
        tx_u32(last_count_flags);
        for (uint16_t i = 0; i < count; i++) tx_u64(layer_ticks[start + i]);
        tx_end();
#else
        send_error(seq, HIL_ERR_NO_PROFILE, "firmware built without -DHIL_MODEL_PROFILE");
#endif
        return;
    }
    default:
        send_error(seq, HIL_ERR_UNKNOWN_CMD, "unknown command");
        return;
    }
    send_error(seq, HIL_ERR_BAD_ARGS, "payload too short");
}

int main(void) {
    hil_uart_init();
    hil_uart_ready = 1;
    hil_counter_init();
    /* The cost of one read, between two back-to-back reads: the smallest of a few pairs, so a
     * read that waited out a counter wrap (hil_counter.h) cannot inflate it. */
    overhead_ticks = 0xFFFFFFFFu;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = hil_counter_now();
        uint64_t t1 = hil_counter_now();
        if (t1 - t0 < overhead_ticks) overhead_ticks = (uint32_t)(t1 - t0);
    }
#ifdef HIL_MODEL_PROFILE
    /* One empty layer's hook cycle (start, end, next start: read to read), the most the hooks
     * add between two layers; the host checks the per-layer sum against the whole with it. */
    hook_ticks = 0xFFFFFFFFu;
    for (int i = 0; i < 3; i++) {
        hil_model_layer_hook(0, 0);
        uint64_t s0 = layer_start;
        hil_model_layer_hook(0, 1);
        hil_model_layer_hook(0, 0);
        if (layer_start - s0 < hook_ticks) hook_ticks = (uint32_t)(layer_start - s0);
    }
    layer_ticks[0] = 0u;
#endif
    doorbell.polling = 0u; /* the mailbox is not loaded (NOLOAD): nothing rung before boot */
    doorbell.done = doorbell.ring;
    send_emitted(HIL_MSG_BOOT, 0, emit_identity);
    for (;;) {
        uint8_t type, seq;
        uint16_t len;
        if (recv_frame(&type, &seq, &len)) {
            handle(type, seq, len);
        } else {
            serve_doorbell();
            poll_doorbell();
        }
    }
}
