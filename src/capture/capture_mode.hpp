// CAPTURE=logical|trigger|auto: which capture source reads the database, and why — the
// decision `walcast serve` prints in its banner and /healthz, and `walcast db init` follows.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"

#include <string>

namespace walcast::capture {

/// The capture mode in use and the reason, as shown to the user.
struct CaptureChoice {
    std::string mode;   ///< "logical" or "trigger"
    std::string reason; ///< e.g. "CAPTURE=auto: wal_level is replica; trigger capture is installed"
};

/// What the connected database offers for capture.
struct CaptureSupport {
    std::string wal_level;          ///< current_setting('wal_level')
    bool replication_role = false;  ///< the role has REPLICATION or is a superuser
    bool trigger_installed = false; ///< walcast.version() exists
    std::string user;               ///< current_user
};

/// Reads CaptureSupport on conn. Errors: the query failed.
Result<CaptureSupport> probe_capture(const pg::Connection& conn);

/// The mode for configured ("logical", "trigger", "auto"): the first two as given; auto
/// chooses logical when wal_level is logical and the role may replicate, else trigger when it
/// is installed. Errors (auto only): neither is possible — Config, naming both fixes.
Result<CaptureChoice> choose_capture(const std::string& configured, const CaptureSupport& db);

} // namespace walcast::capture
