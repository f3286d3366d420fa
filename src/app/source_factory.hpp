// The one place a capture source is chosen from Config and built: `walcast serve` and
// `walcast tail` get their source here, so a new source is one more branch in one function.
#pragma once

#include "capture/capture_mode.hpp"
#include "capture/change_sink.hpp"
#include "capture/source.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace walcast::app {

/// How the caller treats configuration errors of the database (wal_level, a missing
/// publication, missing privileges, a slot in use elsewhere at start).
enum class ConfigErrors {
    Retry, ///< serve: logged and retried with backoff, so fixing the database heals walcast
    Fatal, ///< tail: the source stops and health() reports the error (fatal = true)
};

/// The capture source for config, streaming into sink (which must outlive it). Not started.
/// CAPTURE=logical: the slot (PUBLICATION, SLOT_NAME; extra_publications are streamed too when
/// they exist — serve: realtime.messages' publication for Broadcast from Database). CAPTURE=
/// trigger: trigger capture (PUBLICATION; SLOT_NAME names a durable consumer; extra_publications
/// are not captured). CAPTURE=auto: an AutoSource that picks one of them once it can look at
/// the database.
std::unique_ptr<capture::Source> make_source(const Config& config, const pg::ConnectParams& params,
                                             capture::ChangeSink& sink, ConfigErrors errors,
                                             std::vector<std::string> extra_publications = {});

/// Which mode source runs and why (for the banner and /healthz); for CAPTURE=auto waits up to
/// timeout for the choice. nullopt while an auto source has not chosen yet.
std::optional<capture::CaptureChoice> capture_choice(const capture::Source& source,
                                                     std::chrono::milliseconds timeout);

} // namespace walcast::app
