// Metrics: named counters, gauges and histograms every subsystem updates lock-free, rendered
// in the Prometheus text exposition format for GET /metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace walcast {

/// Monotonic counter. Thread-safe.
class Counter {
public:
    void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

/// Value that goes up and down. Thread-safe.
class Gauge {
public:
    void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
    void add(std::int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    void sub(std::int64_t n = 1) { v_.fetch_sub(n, std::memory_order_relaxed); }
    std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> v_{0};
};

/// Cumulative histogram with fixed upper bounds. Thread-safe.
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double v);
    /// Snapshot: per-bucket cumulative counts (last = +Inf), sum and count.
    struct Snapshot {
        std::vector<std::uint64_t> cumulative;
        double sum = 0;
        std::uint64_t count = 0;
    };
    Snapshot snapshot() const;
    const std::vector<double>& bounds() const { return bounds_; }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; ///< bounds_.size() + 1 buckets
    std::atomic<std::uint64_t> count_{0};
    std::atomic<double> sum_{0};
};

/// Owns every metric; references handed out stay valid for the registry's lifetime.
/// Registration is thread-safe; names follow Prometheus conventions (walcast_..._total etc.).
class MetricsRegistry {
public:
    Counter& counter(const std::string& name, const std::string& help);
    Gauge& gauge(const std::string& name, const std::string& help);
    Histogram& histogram(const std::string& name, const std::string& help,
                         std::vector<double> upper_bounds);
    /// A gauge computed when scraped (e.g. replication lag read from the source).
    void gauge_callback(const std::string& name, const std::string& help,
                        std::function<double()> read);
    /// A histogram computed when scraped from the current values read() returns (e.g. the
    /// queued bytes of every client).
    void histogram_callback(const std::string& name, const std::string& help,
                            std::vector<double> upper_bounds,
                            std::function<std::vector<double>()> read);
    /// Prometheus text format 0.0.4.
    std::string render() const;

private:
    struct Entry {
        std::string name, help, type;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
        std::function<double()> read;
        std::function<std::vector<double>()> read_values;
        std::vector<double> bounds;
    };
    /// Appends an entry with its name, help and type; the caller holds mu_ and fills the rest.
    Entry& add_locked(const std::string& name, const std::string& help, const char* type);

    mutable std::mutex mu_;
    std::vector<std::unique_ptr<Entry>> entries_;
};

} // namespace walcast
