// `walcast watch "SELECT …"`: psql's \watch, pushed instead of polled. Opens a live query on a
// running walcast (GET /live/v1, Server-Sent Events), prints its result as psql prints a table
// and prints it again whenever it changes, each time under a line with the commit position the
// result reflects and the time it was read. The token: --token or WALCAST_TOKEN, else one it
// signs for --role (service_role: raw SQL needs a role of LIVE_SQL_ROLES) with the secret
// `walcast token` uses.
#include "auth/jwt_signer.hpp"
#include "cli/command.hpp"
#include "common/clock.hpp"
#include "livequery/result_view.hpp"
#include "protocol/sse/event_parser.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cstdio>
#include <ctime>

namespace walcast::cli {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct WatchOptions {
    std::string sql;
    std::string name;
    std::string params;
    std::string url = "http://127.0.0.1:4000";
    std::string token;
    std::string role = "service_role";
    std::string key;
    std::optional<std::uint32_t> throttle_ms;
    bool full = false;
    std::uint64_t count = 0;
};

std::string time_text(std::int64_t unix_ms) {
    const std::time_t s = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    char out[56];
    std::snprintf(out, sizeof out, "%s.%03d UTC", buf, static_cast<int>(unix_ms % 1000));
    return out;
}

int fail(const std::string& message, int status = 1) {
    std::fprintf(stderr, "walcast watch: %s\n", message.c_str());
    return status;
}

/// The message of a JSON error body ({"message": …}), or the body itself.
std::string error_message(const std::string& body) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (!ec && v.is_object())
        if (const auto* m = v.get_object().if_contains("message"); m && m->is_string())
            return std::string(m->get_string());
    return body;
}

int run_watch(const Config& config, const WatchOptions& o) {
    if (o.sql.empty() == o.name.empty())
        return fail("give the SQL to watch, or --name for a named query (LIVE_QUERIES_DIR)", 2);
    auto base = boost::urls::parse_uri(o.url);
    if (!base || base->scheme() != "http" || base->host().empty())
        return fail("--url \"" + o.url +
                        "\" is not an http:// URL of walcast (e.g. http://127.0.0.1:4000); "
                        "https is not spoken by watch: reach a TLS server through a local port",
                    2);
    std::string token = o.token;
    if (token.empty()) {
        const std::string secret = signing_secret(config);
        if (secret.empty())
            return fail("no token: pass --token (or WALCAST_TOKEN), or set JWT_SECRET so that "
                        "watch signs one for --role",
                        2);
        const std::int64_t now = now_unix_us() / 1'000'000;
        boost::json::object claims{
            {"iss", "walcast"}, {"role", o.role}, {"iat", now}, {"exp", now + 24 * 3600}};
        token = auth::sign_hs256(claims, secret);
    }

    boost::urls::url target("/live/v1");
    auto params = target.params();
    if (!o.sql.empty()) params.append({"sql", o.sql});
    if (!o.name.empty()) params.append({"name", o.name});
    if (!o.params.empty()) params.append({"params", o.params});
    if (o.throttle_ms) params.append({"throttle_ms", std::to_string(*o.throttle_ms)});
    if (!o.key.empty()) params.append({"key", o.key});
    if (o.full) params.append({"full", "true"});

    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    boost::system::error_code ec;
    const std::string host(base->host());
    const std::string port = base->has_port() ? std::string(base->port()) : "80";
    auto endpoints = asio::ip::tcp::resolver(io).resolve(host, port, ec);
    if (!ec) asio::connect(socket, endpoints, ec);
    if (ec)
        return fail("cannot connect to " + o.url + ": " + ec.message() +
                    " (is walcast serve running there? --url names it)");

    http::request<http::empty_body> req{http::verb::get, target.buffer(), 11};
    req.set(http::field::host, host);
    req.set(http::field::accept, "text/event-stream");
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::user_agent, "walcast-watch");
    http::write(socket, req, ec);
    if (ec) return fail("sending the request failed: " + ec.message());

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(socket, buffer, parser, ec);
    if (ec) return fail("reading the response failed: " + ec.message());
    const auto status = parser.get().result_int();

    protocol::sse::EventParser events;
    livequery::ResultView view;
    std::string error_body;
    std::uint64_t printed = 0;
    int exit_code = 0;
    bool done = false;
    auto on_event = [&](const protocol::sse::Event& e) {
        boost::system::error_code jec;
        auto payload = boost::json::parse(e.data, jec);
        if (jec || !payload.is_object()) {
            std::fprintf(stderr, "walcast watch: an event that is not a JSON object: %s\n",
                         e.data.c_str());
            return;
        }
        const auto& object = payload.get_object();
        if (e.type == "error") {
            const auto* code = object.if_contains("code");
            const auto* message = object.if_contains("message");
            std::fprintf(stderr, "walcast watch: %s: %s\n",
                         code && code->is_string() ? code->get_string().c_str() : "error",
                         message && message->is_string() ? message->get_string().c_str() : "");
            std::fflush(stderr);
            return;
        }
        if (auto st = view.apply(e.type, object); !st) {
            std::fprintf(stderr, "walcast watch: %s\n", st.error().message.c_str());
            exit_code = 1;
            done = true;
            return;
        }
        std::printf("%s  (position %s)\n\n%s\n", time_text(view.at_ms()).c_str(),
                    view.position().c_str(), view.render_table().c_str());
        std::fflush(stdout);
        if (o.count && ++printed >= o.count) done = true;
    };
    char chunk[16 * 1024];
    while (!done && !parser.is_done()) {
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof chunk;
        http::read_some(socket, buffer, parser, ec); // returns with what one read brought
        if (ec == http::error::need_buffer) ec = {};
        if (ec) break;
        const std::size_t n = sizeof chunk - parser.get().body().size;
        if (status != 200) {
            if (error_body.size() < 64 * 1024) error_body.append(chunk, n);
            continue;
        }
        if (auto st = events.feed({chunk, n}, on_event); !st) return fail(st.error().message);
    }
    if (status != 200)
        return fail("the server refused the live query (HTTP " + std::to_string(status) +
                    "): " + error_message(error_body));
    if (done) return exit_code;
    return fail("the server ended the stream" +
                (ec && ec != http::error::end_of_stream && ec != asio::error::eof
                     ? ": " + ec.message()
                     : std::string()));
}

} // namespace

void register_watch(CLI::App& app, Config& config, CommandRunner* selected) {
    auto* cmd = app.add_subcommand(
        "watch", "print a live query's result as a table, again whenever it changes (psql's "
                 "\\watch, pushed by a running walcast over GET /live/v1 instead of polled)");
    add_config_options(*cmd, config, ConfigOptions::Auth | ConfigOptions::Embedded);
    static WatchOptions options;
    cmd->add_option("sql", options.sql,
                    "the SELECT to watch (raw SQL: the token's role must be in LIVE_SQL_ROLES)")
        ->group("Watch");
    cmd->add_option("--name", options.name, "a named query of LIVE_QUERIES_DIR instead of SQL")
        ->group("Watch");
    cmd->add_option("--params", options.params,
                    "the parameters $1, $2, … as a JSON array, e.g. '[42, \"x\", null]'")
        ->group("Watch");
    cmd->add_option("--url", options.url, "walcast's address")
        ->envname("WALCAST_URL")
        ->capture_default_str()
        ->group("Watch");
    cmd->add_option("--token", options.token,
                    "the JWT to run the query as (default: one signed for --role)")
        ->envname("WALCAST_TOKEN")
        ->group("Watch");
    cmd->add_option("--role", options.role, "the role of the token watch signs without --token")
        ->capture_default_str()
        ->group("Watch");
    cmd->add_option("--throttle-ms", options.throttle_ms,
                    "the throttle window (default: the query's, or LIVE_QUERY_THROTTLE_MS)")
        ->group("Watch");
    cmd->add_option("--key", options.key, "key columns of the diffs, comma-separated")
        ->group("Watch");
    cmd->add_flag("--full", options.full, "ask for whole results instead of diffs")->group("Watch");
    cmd->add_option("--count", options.count, "exit 0 after printing this many results; 0 = none")
        ->group("Watch");
    cmd->callback(
        [selected, &config] { *selected = [&config] { return run_watch(config, options); }; });
}

} // namespace walcast::cli
