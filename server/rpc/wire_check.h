/*
 * wire_check.h - checks a request's bytes before protobuf-c turns them into
 * C strings: a string field holding a NUL byte would be cut short there
 * (an id "m1\0evil" read as "m1"), so such a request is refused whole.
 *
 * Knows protobuf-c's descriptors and the wire format; nothing of gRPC,
 * models or the engine.
 */
#ifndef DRIFTD_WIRE_CHECK_H
#define DRIFTD_WIRE_CHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* 1 when some string field of the message (d, buf, len), at any depth,
 * holds a NUL byte: path (cap bytes) then names it, as
 * "spec.features[2].name (byte 2)". 0 otherwise, including for bytes that
 * are not a well-formed message (the decoder refuses those). */
int dd_wire_find_nul(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                     char *path, size_t cap);

#endif /* DRIFTD_WIRE_CHECK_H */
