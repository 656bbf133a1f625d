// Resource planning: how much memory a run may use, so that a request too big for the machine
// is refused before anything is allocated, with the memory it needs (DESIGN.md "Errors").
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace citytwin {

/// Memory a run may use (bytes): the machine's available memory (MemAvailable in
/// /proc/meminfo, else the physical memory), or `limit` when it is given (> 0).
std::uint64_t memory_budget(std::uint64_t limit = 0);

/// Bytes free for this process on the file system that holds `dir` (or would: the nearest
/// existing parent); 0 when unknown.
std::uint64_t free_disk(const std::string& dir);

/// "4GiB", "500MB", "2G", "1.5TB" -> bytes (B, kB/MB/GB/TB decimal; KiB/MiB/GiB/TiB and the
/// one-letter K/M/G/T binary).
std::expected<std::uint64_t, std::string> parse_bytes(std::string_view text);

/// "1.2 GiB", "850 MiB".
std::string format_bytes(double bytes);

}  // namespace citytwin
