// The one place a capture source is chosen from Config and built: `walcast serve` and
// `walcast tail` get their source here, so a new source is one more branch in one function.
#pragma once

#include "capture/change_sink.hpp"
#include "capture/source.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"

#include <memory>
#include <string>
#include <vector>

namespace walcast::app {

/// How the caller treats configuration errors of the database (wal_level, a missing
/// publication, missing privileges, a slot in use elsewhere at start).
enum class ConfigErrors {
    Retry, ///< serve: logged and retried with backoff, so fixing the database heals walcast
    Fatal, ///< tail: the source stops and health() reports the error (fatal = true)
};

/// Which capture source CAPTURE selects, and why (for the banner, /healthz and logs).
struct CaptureChoice {
    std::string kind;   ///< "logical" or "trigger"
    std::string reason; ///< e.g. "CAPTURE=trigger", "auto: wal_level is replica"
};

/// CAPTURE=logical/trigger: that source. CAPTURE=auto: asks the database once — logical when
/// wal_level is logical and the role may replicate (REPLICATION or superuser), else trigger
/// when trigger capture is installed (schema walcast), else logical (whose errors name the
/// fix). When the database cannot be asked (down), logical: its retry loop reports the error.
/// The embedded database is always logical.
CaptureChoice choose_capture(const Config& config, const pg::ConnectParams& params);

/// The capture source for config, streaming into sink (which must outlive it). Not started.
/// Logical (slot) source: PUBLICATION, SLOT_NAME; extra_publications are streamed too when they
/// exist (serve: realtime.messages' publication for Broadcast from Database). Trigger source:
/// PUBLICATION, SLOT_NAME as the durable consumer's name (extra_publications are not captured).
/// choice: from choose_capture (nullptr: chosen here).
std::unique_ptr<capture::Source> make_source(const Config& config, const pg::ConnectParams& params,
                                             capture::ChangeSink& sink, ConfigErrors errors,
                                             std::vector<std::string> extra_publications = {},
                                             const CaptureChoice* choice = nullptr);

} // namespace walcast::app
