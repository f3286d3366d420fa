#include "common/metrics.hpp"

#include <gtest/gtest.h>

namespace walcast {

TEST(MetricsRegistryTest, RendersPrometheusTextForEveryKind) {
    MetricsRegistry reg;
    reg.counter("walcast_changes_received_total", "changes read").inc(3);
    reg.gauge("walcast_connections", "open sockets").set(2);
    reg.gauge_callback("walcast_replication_lag_bytes", "lag", [] { return 1536.0; });
    auto& h = reg.histogram("walcast_client_queue_bytes", "queued bytes", {1024, 65536});
    h.observe(10);
    h.observe(2000);
    h.observe(1e9);
    const std::string text = reg.render();
    EXPECT_NE(text.find("# TYPE walcast_changes_received_total counter\n"
                        "walcast_changes_received_total 3\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("walcast_connections 2\n"), std::string::npos);
    EXPECT_NE(text.find("walcast_replication_lag_bytes 1536\n"), std::string::npos);
    EXPECT_NE(text.find("walcast_client_queue_bytes_bucket{le=\"1024\"} 1\n"
                        "walcast_client_queue_bytes_bucket{le=\"65536\"} 2\n"
                        "walcast_client_queue_bytes_bucket{le=\"+Inf\"} 3\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("walcast_client_queue_bytes_count 3\n"), std::string::npos);
}

} // namespace walcast
