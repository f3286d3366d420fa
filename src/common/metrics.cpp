#include "common/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace walcast {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i)
        counts_[i].store(0);
}

void Histogram::observe(double v) {
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i])
        ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    double cur = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        acc += counts_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(acc);
    }
    s.count = acc;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

MetricsRegistry::Entry& MetricsRegistry::add_locked(const std::string& name,
                                                    const std::string& help, const char* type) {
    auto& e = *entries_.emplace_back(std::make_unique<Entry>());
    e.name = name;
    e.help = help;
    e.type = type;
    return e;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
    std::lock_guard lock(mu_);
    auto& e = add_locked(name, help, "counter");
    e.counter = std::make_unique<Counter>();
    return *e.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
    std::lock_guard lock(mu_);
    auto& e = add_locked(name, help, "gauge");
    e.gauge = std::make_unique<Gauge>();
    return *e.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> upper_bounds) {
    std::lock_guard lock(mu_);
    auto& e = add_locked(name, help, "histogram");
    e.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
    return *e.histogram;
}

void MetricsRegistry::gauge_callback(const std::string& name, const std::string& help,
                                     std::function<double()> read) {
    std::lock_guard lock(mu_);
    add_locked(name, help, "gauge").read = std::move(read);
}

void MetricsRegistry::histogram_callback(const std::string& name, const std::string& help,
                                         std::vector<double> upper_bounds,
                                         std::function<std::vector<double>()> read) {
    std::lock_guard lock(mu_);
    auto& e = add_locked(name, help, "histogram");
    e.bounds = std::move(upper_bounds);
    e.read_values = std::move(read);
}

namespace {

void render_histogram(std::string& out, const std::string& name, const std::vector<double>& bounds,
                      const Histogram::Snapshot& s);

std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    char buf[32];
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.6g", v);
    }
    return buf;
}

} // namespace

std::string MetricsRegistry::render() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& e : entries_) {
        out += "# HELP " + e->name + " " + e->help + "\n";
        out += "# TYPE " + e->name + " " + e->type + "\n";
        if (e->counter) {
            out += e->name + " " + std::to_string(e->counter->value()) + "\n";
        } else if (e->gauge) {
            out += e->name + " " + std::to_string(e->gauge->value()) + "\n";
        } else if (e->read) {
            out += e->name + " " + number(e->read()) + "\n";
        } else if (e->histogram) {
            render_histogram(out, e->name, e->histogram->bounds(), e->histogram->snapshot());
        } else if (e->read_values) {
            Histogram h(e->bounds);
            for (double v : e->read_values())
                h.observe(v);
            render_histogram(out, e->name, e->bounds, h.snapshot());
        }
    }
    return out;
}

namespace {

void render_histogram(std::string& out, const std::string& name, const std::vector<double>& bounds,
                      const Histogram::Snapshot& s) {
    for (std::size_t i = 0; i < bounds.size(); ++i)
        out += name + "_bucket{le=\"" + number(bounds[i]) + "\"} " +
               std::to_string(s.cumulative[i]) + "\n";
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(s.count) + "\n";
    out += name + "_sum " + number(s.sum) + "\n";
    out += name + "_count " + std::to_string(s.count) + "\n";
}

} // namespace

} // namespace walcast
