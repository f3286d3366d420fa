#include "app/connect_params.hpp"

namespace walcast::app {

pg::ConnectParams connect_params_from(const Config& config) {
    pg::ConnectParams p;
    p.sslmode = config.sslmode();
    if (!config.database_url.empty()) {
        p.database_url = config.database_url;
        return p;
    }
    p.host = config.db_host;
    p.port = std::to_string(config.db_port);
    p.dbname = config.db_name;
    p.user = config.db_user;
    p.password = config.db_password;
    return p;
}

} // namespace walcast::app
