// Config → pg::ConnectParams: where walcast connects, from DATABASE_URL or the
// DB_* settings, with walcast's session options (ISO dates, UTC, full float precision).
#pragma once

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace walcast::app {

/// Connection parameters for the configured external database: DATABASE_URL when set (it
/// wins), else DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD; DB_SSL as sslmode (over the
/// URL's). application_name and the GUC options keep their ConnectParams defaults. An embedded
/// config (nothing set) yields localhost defaults; callers that need a configured database check
/// Config::embedded() first.
pg::ConnectParams connect_params_from(const Config& config);

} // namespace walcast::app
