// The pickle opcode table: every opcode of protocols 0-5 with its byte, protocol and argument kind.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "ptio/export.h"

namespace ptio::pickle {

/// How an opcode's inline argument is encoded (the argument descriptors of CPython's
/// `pickletools`: uint1, int4, decimalnl_short, stringnl_noescape_pair, ...).
enum class ArgKind : std::uint8_t {
  kNone,              ///< no inline argument
  kUint1,             ///< 1-byte unsigned
  kUint2,             ///< 2-byte unsigned little-endian
  kInt4,              ///< 4-byte signed little-endian
  kUint4,             ///< 4-byte unsigned little-endian
  kUint8,             ///< 8-byte unsigned little-endian
  kFloat8,            ///< 8-byte IEEE-754 double, big-endian
  kLong1,             ///< uint1 length + little-endian two's complement
  kLong4,             ///< int4 length + little-endian two's complement
  kString1,           ///< uint1 length + bytes (SHORT_BINSTRING)
  kString4,           ///< int4 length + bytes (BINSTRING)
  kBytes1,            ///< uint1 length + bytes
  kBytes4,            ///< uint4 length + bytes
  kBytes8,            ///< uint8 length + bytes
  kUnicode1,          ///< uint1 length + UTF-8
  kUnicode4,          ///< uint4 length + UTF-8
  kUnicode8,          ///< uint8 length + UTF-8
  kDecimalNlShort,    ///< decimal integer text + '\n' (INT, GET, PUT)
  kDecimalNlLong,     ///< decimal integer text, optional 'L', + '\n' (LONG)
  kFloatNl,           ///< float text + '\n' (FLOAT)
  kStringNl,          ///< Python-quoted, escaped string + '\n' (STRING)
  kStringNlNoEscape,  ///< raw text + '\n' (PERSID)
  kStringNlPair,      ///< two raw lines: module '\n' name '\n' (GLOBAL, INST)
  kUnicodeNl,         ///< raw-unicode-escape text + '\n' (UNICODE)
};

/// X-macro of every opcode: X(NAME, byte, protocol, ArgKind). Names are pickle's, verbatim.
#define PTIO_PICKLE_OPCODES(X)            \
  X(MARK, 0x28, 0, kNone)                 \
  X(STOP, 0x2e, 0, kNone)                 \
  X(POP, 0x30, 0, kNone)                  \
  X(POP_MARK, 0x31, 1, kNone)             \
  X(DUP, 0x32, 0, kNone)                  \
  X(FLOAT, 0x46, 0, kFloatNl)             \
  X(INT, 0x49, 0, kDecimalNlShort)        \
  X(BININT, 0x4a, 1, kInt4)               \
  X(BININT1, 0x4b, 1, kUint1)             \
  X(LONG, 0x4c, 0, kDecimalNlLong)        \
  X(BININT2, 0x4d, 1, kUint2)             \
  X(NONE, 0x4e, 0, kNone)                 \
  X(PERSID, 0x50, 0, kStringNlNoEscape)   \
  X(BINPERSID, 0x51, 1, kNone)            \
  X(REDUCE, 0x52, 0, kNone)               \
  X(STRING, 0x53, 0, kStringNl)           \
  X(BINSTRING, 0x54, 1, kString4)         \
  X(SHORT_BINSTRING, 0x55, 1, kString1)   \
  X(UNICODE, 0x56, 0, kUnicodeNl)         \
  X(BINUNICODE, 0x58, 1, kUnicode4)       \
  X(APPEND, 0x61, 0, kNone)               \
  X(BUILD, 0x62, 0, kNone)                \
  X(GLOBAL, 0x63, 0, kStringNlPair)       \
  X(DICT, 0x64, 0, kNone)                 \
  X(EMPTY_DICT, 0x7d, 1, kNone)           \
  X(APPENDS, 0x65, 1, kNone)              \
  X(GET, 0x67, 0, kDecimalNlShort)        \
  X(BINGET, 0x68, 1, kUint1)              \
  X(INST, 0x69, 0, kStringNlPair)         \
  X(LONG_BINGET, 0x6a, 1, kUint4)         \
  X(LIST, 0x6c, 0, kNone)                 \
  X(EMPTY_LIST, 0x5d, 1, kNone)           \
  X(OBJ, 0x6f, 1, kNone)                  \
  X(PUT, 0x70, 0, kDecimalNlShort)        \
  X(BINPUT, 0x71, 1, kUint1)              \
  X(LONG_BINPUT, 0x72, 1, kUint4)         \
  X(SETITEM, 0x73, 0, kNone)              \
  X(TUPLE, 0x74, 0, kNone)                \
  X(EMPTY_TUPLE, 0x29, 1, kNone)          \
  X(SETITEMS, 0x75, 1, kNone)             \
  X(BINFLOAT, 0x47, 1, kFloat8)           \
  X(PROTO, 0x80, 2, kUint1)               \
  X(NEWOBJ, 0x81, 2, kNone)               \
  X(EXT1, 0x82, 2, kUint1)                \
  X(EXT2, 0x83, 2, kUint2)                \
  X(EXT4, 0x84, 2, kInt4)                 \
  X(TUPLE1, 0x85, 2, kNone)               \
  X(TUPLE2, 0x86, 2, kNone)               \
  X(TUPLE3, 0x87, 2, kNone)               \
  X(NEWTRUE, 0x88, 2, kNone)              \
  X(NEWFALSE, 0x89, 2, kNone)             \
  X(LONG1, 0x8a, 2, kLong1)               \
  X(LONG4, 0x8b, 2, kLong4)               \
  X(BINBYTES, 0x42, 3, kBytes4)           \
  X(SHORT_BINBYTES, 0x43, 3, kBytes1)     \
  X(SHORT_BINUNICODE, 0x8c, 4, kUnicode1) \
  X(BINUNICODE8, 0x8d, 4, kUnicode8)      \
  X(BINBYTES8, 0x8e, 4, kBytes8)          \
  X(EMPTY_SET, 0x8f, 4, kNone)            \
  X(ADDITEMS, 0x90, 4, kNone)             \
  X(FROZENSET, 0x91, 4, kNone)            \
  X(NEWOBJ_EX, 0x92, 4, kNone)            \
  X(STACK_GLOBAL, 0x93, 4, kNone)         \
  X(MEMOIZE, 0x94, 4, kNone)              \
  X(FRAME, 0x95, 4, kUint8)               \
  X(BYTEARRAY8, 0x96, 5, kBytes8)         \
  X(NEXT_BUFFER, 0x97, 5, kNone)          \
  X(READONLY_BUFFER, 0x98, 5, kNone)

/// Every pickle opcode; the enumerator's value is its byte.
enum class OpCode : std::uint8_t {
#define PTIO_X(name, byte, proto, arg) name = byte,
  PTIO_PICKLE_OPCODES(PTIO_X)
#undef PTIO_X
};

/// One row of the opcode table.
struct OpcodeInfo {
  std::string_view name;  ///< pickle's name, e.g. "SHORT_BINUNICODE"
  OpCode code;
  std::uint8_t protocol;  ///< the protocol that introduced it
  ArgKind arg;
};

/// The row for byte `b`, or nullptr when `b` is not an opcode.
PTIO_API const OpcodeInfo* opcode_info(std::uint8_t b) noexcept;
/// All rows, in table order.
PTIO_API std::span<const OpcodeInfo> all_opcodes() noexcept;
/// The name of `b` ("BINPUT"), or "<0xNN>" style text for unknown bytes (static storage).
PTIO_API std::string_view opcode_name(std::uint8_t b) noexcept;

}  // namespace ptio::pickle
