#include "server/http_server.hpp"

#include "common/clock.hpp"
#include "common/json_writer.hpp"
#include "common/logging.hpp"
#include "server/static_files.hpp"
#include "server/websocket_handshake.hpp"
#include "server/ws_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

namespace walcast::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// Largest request head accepted (the WebSocket upgrade carries a JWT in the query).
constexpr std::uint32_t max_header_bytes = 16 * 1024;
/// Plain HTTP requests here are GETs; bodies are not expected.
constexpr std::uint64_t max_body_bytes = 64 * 1024;

/// One accepted connection until it is upgraded or closed.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
    HttpConnection(tcp::socket socket, ServerContext& ctx)
        : socket_(std::move(socket)), ctx_(ctx) {}

    void start() { read_request(); }

private:
    using Request = http::request<http::string_body>;
    using Response = http::response<http::string_body>;

    void read_request() {
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        parser_->body_limit(max_body_bytes);
        // The head first: a protocol's HTTP route may take a larger body (REST broadcast).
        http::async_read_header(
            socket_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->route_ = nullptr;
                if (self->ctx_.routes) {
                    auto url = boost::urls::parse_origin_form(self->parser_->get().target());
                    if (url) self->route_ = self->ctx_.routes->match(url->path());
                }
                if (self->route_) self->parser_->body_limit(self->route_->max_body_bytes);
                // curl and others wait for "100 Continue" before sending a large body.
                if (self->route_ &&
                    beast::iequals(self->parser_->get()[http::field::expect], "100-continue")) {
                    auto cont = std::make_shared<http::response<http::empty_body>>(
                        http::status::continue_, self->parser_->get().version());
                    return http::async_write(self->socket_, *cont,
                                             [self, cont](beast::error_code ec2, std::size_t) {
                                                 if (ec2) return self->close();
                                                 self->read_body();
                                             });
                }
                self->read_body();
            });
    }

    void read_body() {
        http::async_read(socket_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec == http::error::body_limit)
                                 return self->send(
                                     self->make(http::status::payload_too_large, "application/json",
                                                R"({"message":"request body too large"})",
                                                self->parser_->get().version()),
                                     false);
                             if (ec) return self->close();
                             self->on_request(self->parser_->release());
                         });
    }

    void close() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    void send(Response res, bool keep_alive) {
        res.keep_alive(keep_alive);
        res.prepare_payload();
        auto sp = std::make_shared<Response>(std::move(res));
        http::async_write(
            socket_, *sp,
            [self = shared_from_this(), sp, keep_alive](beast::error_code ec, std::size_t) {
                if (ec || !keep_alive) return self->close();
                self->read_request();
            });
    }

    // A static file: validators and caching headers, 304 for a matching If-None-Match, no body
    // for HEAD; the body is sent from the table without a copy (it lives as long as the App).
    void send_static(const StaticFile& f, const Request& req) {
        const bool not_modified = !f.etag.empty() && req[http::field::if_none_match] == f.etag;
        using SpanResponse = http::response<http::span_body<const char>>;
        auto res = std::make_shared<SpanResponse>(
            not_modified ? http::status::not_modified : http::status::ok, req.version());
        res->set(http::field::server, "walcast");
        res->set(http::field::content_type, f.content_type);
        if (!f.cache_control.empty()) res->set(http::field::cache_control, f.cache_control);
        if (!f.etag.empty()) res->set(http::field::etag, f.etag);
        if (!not_modified)
            res->body() = http::span_body<const char>::value_type(f.body.data(), f.body.size());
        res->keep_alive(req.keep_alive());
        res->prepare_payload();
        if (req.method() == http::verb::head || not_modified) {
            res->body() = {};
            if (!not_modified) res->content_length(f.body.size());
        }
        const bool keep_alive = req.keep_alive();
        http::async_write(
            socket_, *res,
            [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                if (ec || !keep_alive) return self->close();
                self->read_request();
            });
    }

    Response make(http::status status, std::string content_type, std::string body,
                  unsigned version) {
        Response res{status, version};
        res.set(http::field::server, "walcast");
        if (!content_type.empty()) res.set(http::field::content_type, content_type);
        res.body() = std::move(body);
        return res;
    }

    void on_request(Request req) {
        auto url = boost::urls::parse_origin_form(req.target());
        if (!url) {
            return send(make(http::status::bad_request, "application/json",
                             R"({"error":"malformed request target"})", req.version()),
                        false);
        }
        std::string path(url->path());
        if (ctx_.upgrades.serves(path)) return upgrade(std::move(req), *url, path);
        if (route_) return serve_route(std::move(req), *url);
        if (req.method() != http::verb::get && req.method() != http::verb::head)
            return send(make(http::status::method_not_allowed, "application/json",
                             R"({"error":"only GET is served here"})", req.version()),
                        req.keep_alive());
        // /api/health: the path some clients and load balancers probe.
        if (path == "/healthz" || path == "/api/health") {
            auto h = ctx_.health();
            std::string body = "{\"status\":";
            json::append_string(body, h.up ? "ok" : "unavailable");
            if (!h.up) {
                body += ",\"reason\":";
                json::append_string(body, h.reason);
            }
            if (!h.last_gap.empty()) {
                body += ",\"last_gap\":{\"open\":";
                body += h.gap_open ? "true" : "false";
                body += ",\"message\":";
                json::append_string(body, h.last_gap);
                body += '}';
            }
            body += '}';
            return send(make(h.up ? http::status::ok : http::status::service_unavailable,
                             "application/json", body, req.version()),
                        req.keep_alive());
        }
        if (path == "/metrics")
            return send(make(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                             ctx_.registry.render(), req.version()),
                        req.keep_alive());
        if (const StaticFile* f = ctx_.static_files ? ctx_.static_files->find(path) : nullptr)
            return send_static(*f, req);
        send(make(http::status::not_found, "application/json",
                  R"({"error":"not found; the WebSocket endpoint is /socket/websocket"})",
                  req.version()),
             req.keep_alive());
    }

    // A protocol's HTTP endpoint: it answers through respond, maybe later and from another
    // thread; the response is written on this connection's strand.
    void serve_route(Request req, const boost::urls::url_view& url) {
        protocol::HttpRequest r;
        r.method = std::string(req.method_string());
        r.path = std::string(url.path());
        for (auto seg : url.segments())
            r.segments.emplace_back(seg);
        auto params = url.params();
        r.query = [&params](std::string_view name) -> std::optional<std::string> {
            if (auto it = params.find(name); it != params.end() && (*it).has_value)
                return std::string((*it).value);
            return std::nullopt;
        };
        r.header = [&req](std::string_view name) -> std::optional<std::string> {
            if (auto h = req.find(name); h != req.end()) return std::string(h->value());
            return std::nullopt;
        };
        r.body = std::move(req.body());
        const unsigned version = req.version();
        const bool keep_alive = req.keep_alive();
        route_->handler(r, [self = shared_from_this(), version,
                            keep_alive](protocol::HttpResponse out) {
            asio::post(self->socket_.get_executor(), [self, version, keep_alive,
                                                      out = std::move(out)]() mutable {
                auto res = self->make(static_cast<http::status>(out.status),
                                      std::move(out.content_type), std::move(out.body), version);
                for (auto& [name, value] : out.headers)
                    res.set(name, value);
                self->send(std::move(res), keep_alive);
            });
        });
    }

    // Refused upgrades wait CONNECT_ERROR_BACKOFF_MS first (spec §1.4).
    void refuse(http::status status, std::string body, unsigned version) {
        ctx_.metrics.connects_refused.inc();
        // Decided before body is moved: argument evaluation order is unspecified.
        std::string content_type = body.empty() ? "" : "application/json";
        auto res = make(status, std::move(content_type), std::move(body), version);
        auto delay = ctx_.config.connect_error_backoff_ms;
        if (delay == 0 || status == http::status::forbidden) return send(std::move(res), false);
        auto timer = std::make_shared<asio::steady_timer>(socket_.get_executor(),
                                                          std::chrono::milliseconds(delay));
        timer->async_wait([self = shared_from_this(), timer,
                           res = std::move(res)](const boost::system::error_code&) mutable {
            self->send(std::move(res), false);
        });
    }

    // A WebSocket upgrade (RFC 6455 §4.2): the generic checks here, then the route's protocol
    // decides (UpgradeDispatcher) and, accepted, the connection gets its protocol session.
    void upgrade(Request req, const boost::urls::url_view& url, const std::string& path) {
        if (!beast::websocket::is_upgrade(req) || req[http::field::sec_websocket_version] != "13" ||
            req[http::field::sec_websocket_key].empty()) {
            return send(make(http::status::bad_request, "application/json",
                             R"J({"error":"expected a WebSocket upgrade (RFC 6455, version 13)"})J",
                             req.version()),
                        false);
        }
        const auto offered = parse_subprotocols(req[http::field::sec_websocket_protocol]);
        const auto route = ctx_.upgrades.match(path, offered);
        if (!route.handler) {
            return send(
                make(http::status::bad_request, "application/json",
                     R"J({"error":"none of the offered WebSocket subprotocols is served here"})J",
                     req.version()),
                false);
        }
        auto params = url.params();
        protocol::UpgradeRequest request;
        request.path = path;
        request.query = [&params](std::string_view name) -> std::optional<std::string> {
            if (auto it = params.find(name); it != params.end() && (*it).has_value)
                return std::string((*it).value);
            return std::nullopt;
        };
        request.header = [&req](std::string_view name) -> std::optional<std::string> {
            if (auto h = req.find(name); h != req.end()) return std::string(h->value());
            return std::nullopt;
        };
        request.subprotocols = offered;
        auto decision = (*route.handler)(request);
        if (auto* refused = std::get_if<protocol::UpgradeRefuse>(&decision))
            return refuse(static_cast<http::status>(refused->status), std::move(refused->body),
                          req.version());
        auto accepted = std::make_shared<protocol::UpgradeAccept>(
            std::move(std::get<protocol::UpgradeAccept>(decision)));

        auto res = std::make_shared<http::response<http::empty_body>>(
            http::status::switching_protocols, req.version());
        res->set(http::field::upgrade, "websocket");
        res->set(http::field::connection, "Upgrade");
        res->set(http::field::sec_websocket_accept,
                 websocket_accept_key(req[http::field::sec_websocket_key]));
        if (!route.subprotocol.empty())
            res->set(http::field::sec_websocket_protocol, route.subprotocol);
        http::async_write(
            socket_, *res,
            [self = shared_from_this(), res, accepted](beast::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->start_connection(*accepted);
            });
    }

    void start_connection(const protocol::UpgradeAccept& accepted) {
        // Bytes the client sent right after its request are frames.
        auto data = buffer_.data();
        std::string leftover(static_cast<const char*>(data.data()), data.size());
        ConnectionOptions o;
        o.limits.soft_bytes = ctx_.config.client_queue_soft_bytes;
        o.limits.soft_seconds = ctx_.config.client_queue_soft_seconds;
        o.limits.hard_bytes = ctx_.config.client_queue_hard_bytes;
        o.idle_timeout = accepted.idle_timeout;
        o.idle_close_reason = accepted.idle_close_reason;
        o.metrics = {&ctx_.metrics.connections, &ctx_.metrics.messages_delivered,
                     &ctx_.metrics.messages_dropped, &ctx_.metrics.slow_disconnects};
        o.on_teardown = [registry = &ctx_.connections](const WsConnection* c) {
            registry->remove(c);
        };
        auto connection = std::make_shared<WsConnection>(
            WsConnection::socket_type(std::move(socket_)), std::move(o), std::move(leftover));
        connection->start(accepted.make_session);
        ctx_.connections.add(connection);
    }

    tcp::socket socket_;
    ServerContext& ctx_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    const protocol::HttpRoute* route_ = nullptr; ///< the current request's, if any
};

} // namespace

HttpServer::HttpServer(asio::io_context& io, ServerContext& ctx)
    : io_(io), ctx_(ctx), acceptor_(asio::make_strand(io)), sweep_timer_(io) {}

Status HttpServer::listen(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return make_error(Errc::Config, "--host (HOST) \"" + host + "\" is not an IP address");
    tcp::endpoint ep(address, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        std::string fix = ec == asio::error::address_in_use
                              ? "; another process uses it — set PORT (or --port) to a free port"
                              : "";
        return make_error(Errc::Config, "cannot listen on " + host + ":" + std::to_string(port) +
                                            ": " + ec.message() + fix);
    }
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    schedule_sweep();
    return {};
}

void HttpServer::do_accept() {
    acceptor_.async_accept(
        asio::make_strand(io_), [this](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
            if (!ec) std::make_shared<HttpConnection>(std::move(socket), ctx_)->start();
            do_accept();
        });
}

void HttpServer::schedule_sweep() {
    // Four times a second: token expiry is then reported within 250 ms of exp ("expired 0
    // seconds ago"); the other checks are a few atomic loads per session.
    sweep_timer_.expires_after(std::chrono::milliseconds(250));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        auto now = std::chrono::steady_clock::now();
        auto unix_s = now_unix_us() / 1'000'000;
        ctx_.connections.for_each(
            [&](const std::shared_ptr<WsConnection>& c) { c->sweep(now, unix_s); });
        schedule_sweep();
    });
}

void HttpServer::stop() {
    asio::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        sweep_timer_.cancel();
    });
    ctx_.connections.for_each([](const std::shared_ptr<WsConnection>& c) {
        c->close(close_code::going_away, "server shutting down");
    });
}

} // namespace walcast::server
