#include "server/tls_relay.hpp"

#include "common/logging.hpp"

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace walcast::server {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

/// The OpenSSL error queue as text (emptied), else what Asio made of the error.
std::string openssl_errors(const boost::system::error_code& ec) {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? ec.message() : out;
}

Status readable(const char* setting, const std::string& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (!f)
        return make_error(Errc::Config, std::string(setting) + " " + file + ": cannot read it (" +
                                            std::strerror(errno) +
                                            "); give a readable PEM file's path");
    std::fclose(f);
    return {};
}

/// One direction's buffer: a TLS record's plaintext is at most 16 kB.
constexpr std::size_t relay_buffer_bytes = 16 * 1024;

class TlsRelay : public std::enable_shared_from_this<TlsRelay> {
public:
    using Local = asio::local::stream_protocol::socket;
    TlsRelay(tcp::socket socket, ssl::context& context, Local local, Counter& failures,
             std::chrono::seconds stall_timeout)
        : tls_(std::move(socket), context), local_(std::move(local)), failures_(failures),
          stall_timeout_(stall_timeout), stall_(local_.get_executor()) {}

    void start() {
        tls_.async_handshake(ssl::stream_base::server,
                             [self = shared_from_this()](const boost::system::error_code& ec) {
                                 self->on_handshake(ec);
                             });
        // The plaintext side is read from the start: it sends nothing before a request
        // arrived, so anything here during the handshake is its end (eviction, timeout).
        read_local();
    }

private:
    void on_handshake(const boost::system::error_code& ec) {
        if (closed_) return;
        if (ec) {
            failures_.inc();
            log::debug("TLS handshake failed: {}", ec.message());
            return close();
        }
        handshake_done_ = true;
        read_tls();
    }

    void read_tls() {
        tls_.async_read_some(
            asio::buffer(from_tls_),
            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                if (ec || self->closed_) return self->close();
                asio::async_write(self->local_, asio::buffer(self->from_tls_.data(), n),
                                  [self](const boost::system::error_code& wec, std::size_t) {
                                      if (wec || self->closed_) return self->close();
                                      self->read_tls();
                                  });
            });
    }

    void read_local() {
        local_.async_read_some(
            asio::buffer(from_local_),
            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                // The HTTP layer closed its end (or ended the connection during the handshake):
                // everything it wrote before was relayed, as reads and writes alternate.
                if (ec || self->closed_ || !self->handshake_done_) return self->close();
                // While this write waits for the client, the plaintext end is not read, so its
                // closing (the WebSocket cut a slow client off) goes unseen: a write that
                // makes no progress for the stall timeout ends the connection.
                self->stall_.expires_after(self->stall_timeout_);
                self->stall_.async_wait([weak = self->weak_from_this()](
                                            const boost::system::error_code& tec) {
                    if (auto s = weak.lock(); s && !tec) {
                        log::debug("closing a TLS connection whose client has not read for {} s",
                                   s->stall_timeout_.count());
                        s->close();
                    }
                });
                asio::async_write(self->tls_, asio::buffer(self->from_local_.data(), n),
                                  [self](const boost::system::error_code& wec, std::size_t) {
                                      self->stall_.cancel();
                                      if (wec || self->closed_) return self->close();
                                      self->read_local();
                                  });
            });
    }

    /// Ends both sides; pending operations complete with errors and drop their references.
    void close() {
        if (closed_) return;
        closed_ = true;
        stall_.cancel();
        boost::system::error_code ignored;
        auto& tcp_socket = tls_.next_layer();
        tcp_socket.shutdown(tcp::socket::shutdown_both, ignored);
        tcp_socket.close(ignored);
        local_.shutdown(Local::shutdown_both, ignored);
        local_.close(ignored);
    }

    ssl::stream<tcp::socket> tls_;
    Local local_;
    Counter& failures_;
    const std::chrono::seconds stall_timeout_;
    asio::steady_timer stall_;    ///< armed while a write to the client is pending
    bool handshake_done_ = false; ///< strand
    bool closed_ = false;         ///< strand
    std::array<char, relay_buffer_bytes> from_tls_;
    std::array<char, relay_buffer_bytes> from_local_;
};

} // namespace

Result<std::shared_ptr<ssl::context>> make_tls_context(const std::string& cert_file,
                                                       const std::string& key_file) {
    if (auto st = readable("TLS_CERT_FILE", cert_file); !st) return st.error();
    if (auto st = readable("TLS_KEY_FILE", key_file); !st) return st.error();
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    // Idle connections give their record buffers back (many idle WebSockets).
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                         ssl::context::single_dh_use);
    // An encrypted key would make OpenSSL prompt on the terminal: it fails instead.
    context->set_password_callback(
        [](std::size_t, ssl::context::password_purpose) { return std::string(); });
    ERR_clear_error();
    boost::system::error_code ec;
    // The key first: loading it after the certificate would fail a mismatch as "not a key".
    context->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec)
        return make_error(Errc::Config,
                          "TLS_KEY_FILE " + key_file + " is not an unencrypted PEM private key (" +
                              openssl_errors(ec) +
                              "); give the key as a -----BEGIN PRIVATE KEY----- block (decrypt "
                              "an encrypted one with openssl pkey -in KEY -out KEY.pem)");
    context->use_certificate_chain_file(cert_file, ec);
    if (ec)
        return make_error(Errc::Config, "TLS_CERT_FILE " + cert_file +
                                            " is not a PEM certificate chain (" +
                                            openssl_errors(ec) +
                                            "); give the certificate, then any intermediates, as "
                                            "-----BEGIN CERTIFICATE----- blocks");
    // OpenSSL drops a key the certificate does not match when the certificate is loaded.
    if (SSL_CTX_check_private_key(native) != 1) {
        ERR_clear_error();
        return make_error(Errc::Config, "TLS_KEY_FILE " + key_file +
                                            " is not the private key of the certificate in "
                                            "TLS_CERT_FILE " +
                                            cert_file +
                                            "; give the key the certificate was issued for");
    }
    return context;
}

Result<asio::generic::stream_protocol::socket> start_tls_relay(tcp::socket tcp_socket,
                                                               ssl::context& context,
                                                               Counter& handshake_failures,
                                                               std::chrono::seconds stall_timeout) {
    const auto executor = tcp_socket.get_executor();
    TlsRelay::Local relay_end(executor);
    TlsRelay::Local http_end(executor);
    boost::system::error_code ec;
    asio::local::connect_pair(relay_end, http_end, ec);
    if (ec)
        return make_error(Errc::Unavailable,
                          "cannot create the TLS relay's socketpair: " + ec.message());
    std::make_shared<TlsRelay>(std::move(tcp_socket), context, std::move(relay_end),
                               handshake_failures, stall_timeout)
        ->start();
    return asio::generic::stream_protocol::socket(std::move(http_end));
}

} // namespace walcast::server
