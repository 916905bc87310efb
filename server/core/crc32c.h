/*
 * crc32c.h - CRC-32C (Castagnoli, the iSCSI/ext4 polynomial 0x1EDC6F41,
 * reflected), the checksum of each checkpoint section (checkpoint_file.h)
 * and of each log segment frame (store/log_segments.h).
 *
 * Uses the SSE4.2 crc32 instruction where the CPU has it, a table
 * otherwise; both give the same value. crc32c("123456789") = 0xE3069283.
 */
#ifndef DRIFTD_CRC32C_H
#define DRIFTD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of bytes, continuing from crc (0 to start). */
uint32_t dd_crc32c(uint32_t crc, const void *bytes, size_t n);

#endif /* DRIFTD_CRC32C_H */
