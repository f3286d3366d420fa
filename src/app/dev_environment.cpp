#include "app/dev_environment.hpp"

#include "auth/jwt_signer.hpp"
#include "capture/trigger/trigger_sql.hpp"
#include "common/clock.hpp"
#include "pg/db_setup.hpp"

#include <boost/json/object.hpp>

#include <cstdio>
#include <fstream>
#include <sys/stat.h>

namespace walcast::app {

namespace fs = std::filesystem;

std::string demo_insert_sql() {
    return "insert into todos (task) values ('Change!')";
}

std::vector<std::string> demo_statements(const std::string& publication) {
    std::string literal = "'";
    for (char c : publication) {
        literal += c;
        if (c == '\'') literal += '\'';
    }
    literal += '\'';
    return {
        R"SQL(DO $$
BEGIN
  IF to_regclass('public.todos') IS NULL THEN
    CREATE TABLE public.todos (id serial PRIMARY KEY, task text);
    ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.todos REPLICA IDENTITY FULL;
    CREATE POLICY "Allow anonymous access" ON public.todos FOR SELECT TO anon USING (true);
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.todos TO anon, authenticated, service_role;
    GRANT USAGE ON SEQUENCE public.todos_id_seq TO anon, authenticated, service_role;
  END IF;
END
$$)SQL",
        // The publication is created empty (as Supabase does): the demo table is added to it
        // explicitly when it is not published (a data dir from before, FOR ALL TABLES, already
        // publishes it; ADD TABLE would fail there).
        "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = " +
            literal +
            " AND schemaname = 'public' AND tablename = 'todos') THEN\n"
            "    EXECUTE format('ALTER PUBLICATION %I ADD TABLE public.todos', " +
            literal + ");\n  END IF;\nEND\n$$",
    };
}

std::string embedded_jwt(std::string_view secret, std::string_view role) {
    boost::json::object claims;
    claims["iss"] = "walcast";
    claims["role"] = role;
    claims["exp"] = embedded_jwt_exp_unix_s;
    return auth::sign_hs256(claims, secret);
}

std::shared_ptr<const server::StaticFiles> app_static_files(const Config& config,
                                                            const pg::ConnectParams& params) {
    auto files = std::make_shared<server::StaticFiles>();
    files->add_embedded(server::inspector_files());
    server::InspectorConfig ic;
    if (config.embedded()) {
        if (!config.jwt_secret.empty()) ic.anon_jwt = embedded_jwt(config.jwt_secret, "anon");
        ic.tables.emplace_back(demo_table);
        ic.insert_example = pg::psql_command(params) + " -c \"" + demo_insert_sql() + "\"";
    }
    // no-store: the body may hold a token, which no cache needs to keep.
    files->add("/inspector/config.json", "application/json", "no-store",
               server::inspector_config_json(ic));
    return files;
}

Result<fs::path> choose_data_dir(const Config& config,
                                 const std::function<void(const std::string&)>& notice) {
    fs::path requested = fs::absolute(config.data_dir).lexically_normal();
    fs::path blocking = pg::EmbeddedCluster::blocking_directory(requested);
    if (blocking.empty()) return requested;
    if (config.data_dir != Config{}.data_dir) {
        auto st = pg::EmbeddedCluster::check_reachable(requested);
        return std::move(st).error();
    }
    std::uint32_t h = 2166136261u; // FNV-1a 32 of the path: a stable, short directory name
    for (unsigned char c : requested.string())
        h = (h ^ c) * 16777619u;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "-%08x", static_cast<unsigned>(h));
    std::string name = requested.parent_path().parent_path().filename().string();
    if (name.empty()) name = "walcast";
    fs::path fallback = fs::path("/var/lib/walcast") / (name + suffix) / "pgdata";
    if (auto st = pg::EmbeddedCluster::check_reachable(fallback); !st) return std::move(st).error();
    if (notice)
        notice("walcast: the postgres user cannot reach " + requested.string() + " (" +
               blocking.string() + " is not searchable by others);\n         using " +
               fallback.string() + " instead (choose with --data-dir)\n");
    return fallback;
}

Result<std::string> embedded_secret(const fs::path& data_dir) {
    const fs::path file = fs::absolute(data_dir).parent_path() / "jwt_secret";
    if (std::ifstream in(file); in) {
        std::string s;
        std::getline(in, s);
        if (!s.empty()) return s;
    }
    std::string secret = auth::random_secret();
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::trunc);
    if (!out)
        return make_error(Errc::Config, "cannot write " + file.string() +
                                            "; choose a writable --data-dir or set JWT_SECRET");
    out << secret << '\n';
    out.close();
    ::chmod(file.c_str(), 0600);
    return secret;
}

fs::path DevEnvironment::jwt_secret_file() const {
    return fs::path(cluster_->data_dir()).parent_path() / "jwt_secret";
}

Result<std::unique_ptr<DevEnvironment>> DevEnvironment::start(Config& config, const Hooks& hooks) {
    auto data_dir = choose_data_dir(config, hooks.notice);
    if (!data_dir) return std::move(data_dir).error();
    config.data_dir = data_dir->string();
    if (hooks.notice)
        hooks.notice("walcast: no database configured (DATABASE_URL / DB_HOST), so walcast runs "
                     "its own Postgres in " +
                     config.data_dir + "\n");
    pg::EmbeddedCluster::Options o;
    o.data_dir = config.data_dir;
    o.port = config.embedded_db_port;
    o.progress = hooks.progress;
    auto c = pg::EmbeddedCluster::start(std::move(o));
    if (!c) return std::move(c).error();
    std::unique_ptr<DevEnvironment> env(new DevEnvironment(std::move(c).value()));
    if (hooks.interrupted && hooks.interrupted())
        return make_error(Errc::Unavailable, "interrupted during start-up; stopped");
    if (hooks.progress)
        hooks.progress(env->cluster_->created() ? "preparing the database (roles, auth helpers, "
                                                  "publication, demo table todos)"
                                                : "checking the database set-up");
    auto conn = pg::Connection::connect(env->connect_params());
    if (!conn) return std::move(conn).error();
    auto statements = pg::db_init_statements(config.publication, false);
    for (auto& s : demo_statements(config.publication))
        statements.push_back(std::move(s));
    // CAPTURE=trigger on the embedded database (to try trigger capture, and its compat runs):
    // installed as `walcast db init --capture trigger` would.
    if (config.capture == "trigger")
        for (auto& s : capture::trigger::install_statements(config.publication))
            statements.push_back(std::move(s));
    if (auto st = pg::run_statements(*conn, statements); !st) return std::move(st).error();
    if (config.jwt_secret.empty() && config.jwt_jwks.empty()) {
        auto secret = embedded_secret(config.data_dir);
        if (!secret) return std::move(secret).error();
        config.jwt_secret = *secret;
    }
    return env;
}

} // namespace walcast::app
