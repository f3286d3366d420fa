// PhoenixSession: the Phoenix channel protocol on one WebSocket — heartbeat, phx_join /
// phx_leave, access_token refresh, token expiry, the channels table. What a channel serves
// (Postgres Changes, Broadcast, Presence, live queries) is its ChannelFeatures
// (channel_feature.hpp), made by the factories in the PhoenixContext. A
// protocol::ProtocolSession: it sees messages, never sockets, and answers through ConnectionIo.
#pragma once

#include "auth/claims.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/metrics.hpp"
#include "protocol/phoenix/channel_feature.hpp"
#include "protocol/phoenix/message.hpp"
#include "protocol/phoenix/vsn.hpp"
#include "protocol/session.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace walcast::protocol::phoenix {

/// The Phoenix protocol's metrics, registered once.
struct PhoenixMetrics {
    explicit PhoenixMetrics(MetricsRegistry& registry);
    Gauge& channels;
    Counter& frames_ignored; ///< malformed client frames (logged and ignored)
    Counter& joins;
    Counter& join_errors;
};

/// What every Phoenix session shares; outlives the sessions.
struct PhoenixContext {
    const auth::JwtVerifier& verifier;
    PhoenixMetrics& metrics;
    /// The channel features, asked in this order at every join; their join() results, open()
    /// and after_join() run in this order too (Postgres Changes first).
    std::vector<std::shared_ptr<ChannelFeatureFactory>> features;
    std::uint32_t max_channels_per_client = 100;   ///< MAX_CHANNELS_PER_CLIENT (spec §8)
    std::uint32_t channel_error_backoff_ms = 5000; ///< CHANNEL_ERROR_BACKOFF_MS (spec §3.6)
    /// MAX_JOINS_PER_SECOND: joins one socket may send per second (the reference's tenant
    /// limit, spec §8, applied per socket); past it the join is answered
    /// `ClientJoinRateLimitReached: Too many joins per second` and the socket closed (1001).
    /// 0 = no limit.
    std::uint32_t max_joins_per_second = 100;
    /// The check of the token's role that a private channel (its realtime.messages policies
    /// run as that role, for Broadcast and Presence alike) passes once, before any feature
    /// joins, and again when a token refresh names another role: done(nullopt) = allowed,
    /// done(reason) = refused, reason naming the fix. done may run on any thread. Empty: no
    /// check. (The app's: SubscriptionService::check_role — a superuser or BYPASSRLS role not
    /// in JWT_ALLOWED_ROLES, an unknown role, one walcast cannot assume.)
    using RoleCheck = std::function<void(std::uintptr_t source, const std::string& role,
                                         std::function<void(std::optional<std::string>)> done)>;
    RoleCheck role_check;
};

/// Join error replies waiting out CHANNEL_ERROR_BACKOFF_MS that one socket may have; past
/// either bound the socket is closed (1008) instead of holding more.
inline constexpr std::size_t max_pending_refusals = 100;
inline constexpr std::size_t max_pending_refusal_bytes = 1 << 20;

/// Phoenix closes a socket that sent nothing for this long (spec §1.5, WebSocket timeout).
inline constexpr std::chrono::milliseconds idle_timeout{60'000};

/// The WebSocket upgrade of the Phoenix socket (spec §1.2–§1.4): `vsn` (1.0.0 / 2.0.0;
/// anything else 403 with an empty body), the socket token from the x-api-key header or the
/// apikey parameter (missing, invalid or expired: the TokenFailure status and body), then a
/// PhoenixSession with the 60 s idle timeout. ctx must outlive the handler and its sessions.
UpgradeHandler upgrade_handler(PhoenixContext& ctx);

/// One socket's channels. Strand only, except sweep_due().
class PhoenixSession final : public ProtocolSession {
public:
    /// socket_claims/socket_token: the verified socket token (spec §1.3). request_headers_json:
    /// the upgrade's x-* headers for private channel policies (request_headers_json()).
    PhoenixSession(const std::shared_ptr<ConnectionIo>& io, PhoenixContext& ctx, Vsn vsn,
                   std::shared_ptr<const auth::Claims> socket_claims, std::string socket_token,
                   std::string request_headers_json = "{}");
    ~PhoenixSession() override;

    void on_text(std::string_view payload) override;
    void on_binary(std::string_view payload) override;
    /// Channels whose token reached `exp` get the §9 `system` error and phx_close.
    void on_sweep(std::chrono::steady_clock::time_point now, std::int64_t now_unix_s) override;
    bool sweep_due(std::int64_t now_unix_s) const override;
    void on_closed() override;

private:
    class Channel;

    void handle_join(InboundMessage& m);
    void on_feature_joined(const std::string& topic, std::uint64_t join_seq, std::size_t index,
                           FeatureJoinResult result);
    void finish_join(Channel& ch);
    /// Makes and joins the channel's features (after the role check, when there is one).
    void start_features(const std::string& topic, std::uint64_t join_seq);
    /// Runs ctx_.role_check for role and then, on the strand, then(refusal) if the channel
    /// (topic, join_seq) is still there.
    void check_role(const std::string& topic, std::uint64_t join_seq, const std::string& role,
                    std::function<void(Channel&, std::optional<std::string>)> then);
    void handle_leave(const InboundMessage& m);
    void handle_access_token(const InboundMessage& m);
    /// Gives channel (topic, seq) its refreshed token and tells the features.
    void apply_token(const std::string& topic, std::uint64_t seq,
                     std::shared_ptr<const auth::Claims> claims, std::string token);
    void reply(const InboundMessage& m, const std::optional<std::string>& join_ref,
               ReplyStatus status, std::string_view response_json);
    void join_error(const InboundMessage& m, std::string reason);
    void unsupported(const InboundMessage& m, const std::optional<std::string>& join_ref);
    void drop_channel(const std::string& topic, bool send_close);
    void shut_down(const std::string& topic, std::uint64_t join_seq, const std::string& message);
    void update_min_exp();
    /// Closes the socket once (a limit), ignoring what it sends meanwhile.
    void close_socket(std::uint16_t code, std::string reason);
    void send(std::string_view frame) { io_.send_text({frame}); }

    ConnectionIo& io_;
    std::weak_ptr<ConnectionIo> io_weak_;
    PhoenixContext& ctx_;
    const Vsn vsn_;
    std::shared_ptr<const auth::Claims> socket_claims_;
    std::string socket_token_;
    const std::string request_headers_json_;
    std::unordered_map<std::string, std::unique_ptr<Channel>> channels_;
    std::uint64_t join_seq_ = 0;
    /// MAX_JOINS_PER_SECOND: joins counted in the current one-second window.
    std::chrono::steady_clock::time_point join_window_{};
    std::uint32_t joins_in_window_ = 0;
    /// Join error replies waiting out the back-off (count, frame bytes).
    std::size_t pending_refusals_ = 0;
    std::size_t pending_refusal_bytes_ = 0;
    bool closed_ = false;
    bool closing_ = false;                 ///< close_socket() ran
    std::atomic<std::int64_t> min_exp_{0}; ///< earliest channel token exp (0 = none); any thread
};

} // namespace walcast::protocol::phoenix
