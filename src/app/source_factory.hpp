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

/// The capture source for config, streaming into sink (which must outlive it). Not started.
/// Today the logical (slot) source: PUBLICATION, SLOT_NAME; extra_publications are streamed
/// too when they exist (serve: realtime.messages' publication for Broadcast from Database).
std::unique_ptr<capture::Source> make_source(const Config& config, const pg::ConnectParams& params,
                                             capture::ChangeSink& sink, ConfigErrors errors,
                                             std::vector<std::string> extra_publications = {});

} // namespace walcast::app
