/* Wire protocol constants; docs/protocol.md is the specification, harness/protocol.py the
 * host side. Frame: A5 5A | type | seq | len lo | len hi | hdr check | payload | crc32 LE
 * hdr check = 0xFF ^ type ^ seq ^ len lo ^ len hi; crc32 covers type..payload (not sync, not
 * hdr check). */
#ifndef HIL_PROTOCOL_H
#define HIL_PROTOCOL_H

#define HIL_PROTO_VERSION 2
#define HIL_SYNC0 0xA5
#define HIL_SYNC1 0x5A
#define HIL_HEADER_BYTES 7
#define HIL_TRAILER_BYTES 4

/* host -> device commands; the reply type is the command | 0x80 */
#define HIL_CMD_HELLO 0x01
#define HIL_CMD_LOAD 0x02
#define HIL_CMD_INVOKE 0x03
#define HIL_CMD_READ 0x04
#define HIL_CMD_RESET_STATE 0x05
#define HIL_CMD_STATS 0x06
#define HIL_CMD_PROFILE 0x07
#define HIL_CMD_RESULT 0x08
/* memory transport: the host writes the input mailbox and reads the output through the debugger */
#define HIL_CMD_MEM_INVOKE 0x09
#define HIL_CMD_MAILBOX 0x0A
#define HIL_CMD_MAILBOX_FILES 0x0B /* emulators: the mailbox is filled from / drained to host files */
#define HIL_MEM_FILES 0x01         /* MEM_INVOKE payload flag: use the MAILBOX_FILES files */
#define HIL_REPLY 0x80

/* device -> host, unsolicited or error */
#define HIL_MSG_BOOT 0x70
#define HIL_MSG_ERROR 0x7E
#define HIL_MSG_FAULT 0x7F

/* ERROR codes (first payload byte; the rest is ASCII text) */
#define HIL_ERR_BAD_HEADER 1
#define HIL_ERR_BAD_CRC 2
#define HIL_ERR_TOO_LONG 3
#define HIL_ERR_UNKNOWN_CMD 4
#define HIL_ERR_BAD_ARGS 5
#define HIL_ERR_NO_PROFILE 6

/* count_flags in the INVOKE/RESULT and PROFILE replies */
#define HIL_COUNT_UNSURE 1u /* the counter saw a wrap it cannot vouch for: the count is not to be trusted */

#endif
