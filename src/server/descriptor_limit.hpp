// The process's open-files limit: raised to its hard limit at start, so that the number of
// connections is bounded by what the operator allows (systemd LimitNOFILE, ulimit -Hn), not by
// the 1024 soft default.
#pragma once

#include <cstdint>

namespace walcast::server {

/// What raise_open_files_limit() found and did.
struct OpenFilesLimit {
    std::uint64_t before = 0; ///< soft limit at start
    std::uint64_t soft = 0;   ///< soft limit now
    std::uint64_t hard = 0;   ///< hard limit (unchanged)
};

/// Sets RLIMIT_NOFILE's soft limit to its hard limit (getrlimit/setrlimit(2)). Start-up only,
/// main thread; a failure leaves the limit as it was (soft reports what is in force).
OpenFilesLimit raise_open_files_limit();

} // namespace walcast::server
