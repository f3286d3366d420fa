// Logging: spdlog behind a tiny facade so every subsystem logs the same way (stderr, one line
// per event, level from config). Data-path code logs errors and rare events, never per change.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace walcast::log {

/// Sets up the process logger writing to stderr. level: "trace" … "off" (spdlog names);
/// unknown names fall back to "info". Call once from main before other threads start.
void init(std::string_view level);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;

} // namespace walcast::log
