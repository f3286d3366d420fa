// The realtime load tool: N WebSocket clients speaking Phoenix V2 (spec §2.2) join one
// postgres_changes channel each, a libpq connection commits rows at a set rate, and every
// delivery is timed (row insert time → client receive), counted and checked for loss,
// duplicates, order and leaks. Also samples CPU and RSS of walcast and Postgres from /proc.
//
// Usage (the scripts bench/fanout.sh and bench/rls.sh start walcast and call this):
//   loadgen --url ws://127.0.0.1:4000/socket --db postgresql://postgres@127.0.0.1:5433/postgres
//           --jwt-secret S --clients 1000 --rates 100,300 --duration 20 --setup
//           [--server-pid P] [--pg-data-dir D] [--rls --identities 100 --hidden-every 10]
//   loadgen … --idle --clients 10000 --hold 10      (memory per idle connection)
//   loadgen … --broadcast --clients 1000 --rates 100,1000 (one sender, every client a member of
//           one topic; the sender's V2 binary broadcasts timed send → receive; --floor too)
//   loadgen … --presence --clients 1000  (every client joins one presence topic, then tracks:
//           time until every client's presence state holds all, messages vs uncoalesced)
//
// Cost per received message is kept small because the tool shares the machine with walcast
// and Postgres: frames are parsed in place (websocket_frame.hpp, client role), the V2 array
// header is scanned without a JSON parser, and only `"id":` and `"t_us":` are looked up in
// the record; the receive time is read once per socket read, not per message.
#include "auth/jwt_signer.hpp"
#include "pg/connection.hpp"
#include "server/websocket_frame.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace walcast::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using server::FrameRole;
using server::Opcode;
using server::WebSocketFrameParser;
using server::WebSocketMessage;

/// Bytes read per system call (one buffer per worker thread, shared by its clients).
constexpr std::size_t read_chunk_bytes = 256 * 1024;
/// realtime-js sends a heartbeat this often (spec §1.5); walcast closes sockets silent for 60 s.
constexpr auto heartbeat_interval = std::chrono::seconds(25);
/// A drain ends when nothing new arrived for this long (the rest is reported missing).
constexpr auto drain_stall = std::chrono::seconds(5);

// ------------------------------------------------------------------------------- clocks

/// Wall clock in µs since the Unix epoch: the clock Postgres' clock_timestamp() reads.
std::int64_t realtime_us() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// ---------------------------------------------------------------------------- histogram

/// Latency histogram with logarithmic buckets: exact below 32 µs, then 32 buckets per power
/// of two (≤ 3.2 % relative error). Quantiles report the bucket's upper bound. One thread.
class LatencyHistogram {
public:
    static constexpr int sub_bits = 5;
    static constexpr std::size_t sub_count = std::size_t(1) << sub_bits;
    static constexpr std::size_t bucket_count = (64 - sub_bits + 1) * sub_count;

    /// Records one latency in µs (negative values count as 0).
    void record(std::int64_t us) {
        std::uint64_t v = us < 0 ? 0 : std::uint64_t(us);
        ++buckets_[index(v)];
        ++count_;
        sum_ += v;
        max_ = std::max(max_, v);
    }
    void merge(const LatencyHistogram& o) {
        for (std::size_t i = 0; i < bucket_count; ++i)
            buckets_[i] += o.buckets_[i];
        count_ += o.count_;
        sum_ += o.sum_;
        max_ = std::max(max_, o.max_);
    }
    void reset() { *this = LatencyHistogram(); }
    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }
    double mean() const { return count_ ? double(sum_) / double(count_) : 0; }

    /// Smallest bucket upper bound (µs) with at least q of the samples at or below it.
    std::uint64_t quantile(double q) const {
        if (count_ == 0) return 0;
        const auto rank = std::uint64_t(std::ceil(q * double(count_)));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            seen += buckets_[i];
            if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(upper(i), max_);
        }
        return max_;
    }

private:
    static std::size_t index(std::uint64_t v) {
        if (v < sub_count) return std::size_t(v);
        const int e = 63 - std::countl_zero(v); // e >= sub_bits
        return (std::size_t(e - sub_bits + 1) << sub_bits) +
               std::size_t((v >> (e - sub_bits)) & (sub_count - 1));
    }
    static std::uint64_t lower(std::size_t i) {
        if (i < sub_count) return i;
        const std::size_t e = (i >> sub_bits) + sub_bits - 1;
        return (sub_count + (i & (sub_count - 1))) << (e - sub_bits);
    }
    static std::uint64_t upper(std::size_t i) {
        return i + 1 < bucket_count ? lower(i + 1) - 1 : UINT64_MAX;
    }

    std::array<std::uint64_t, bucket_count> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
};

// ------------------------------------------------------------------------------- /proc

/// CPU seconds (user + system) from a /proc stat file, or -1 when it is gone.
double stat_cpu_seconds(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) return -1;
    auto close = line.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 0; rest >> field; ++i) { // i = 0 is field 3 (state); utime is field 14
        if (i == 11) utime = std::stoull(field);
        if (i == 12) {
            stime = std::stoull(field);
            break;
        }
    }
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

/// CPU seconds (user + system) a process has used, or -1 when it is gone.
double proc_cpu_seconds(pid_t pid) {
    return stat_cpu_seconds("/proc/" + std::to_string(pid) + "/stat");
}

/// CPU seconds of one thread of this process.
double thread_cpu_seconds(pid_t tid) {
    return stat_cpu_seconds("/proc/self/task/" + std::to_string(tid) + "/stat");
}

/// Parent pid from /proc/<pid>/stat, or -1.
pid_t proc_ppid(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return -1;
    auto close = line.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    long ppid = -1;
    rest >> state >> ppid;
    return pid_t(ppid);
}

/// Resident set size in KiB (VmRSS), or -1 when the process is gone.
long proc_rss_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

/// CPU seconds of a Postgres cluster: the postmaster (first line of postmaster.pid) and its
/// children (backends, walsender, background workers), by pid, so that deltas survive
/// processes starting between samples. Empty when the data directory is unknown.
std::map<pid_t, double> postgres_cpu(const std::string& data_dir) {
    std::map<pid_t, double> out;
    if (data_dir.empty()) return out;
    std::ifstream in(data_dir + "/postmaster.pid");
    long postmaster = 0;
    if (!(in >> postmaster) || postmaster <= 0) return out;
    out[pid_t(postmaster)] = proc_cpu_seconds(pid_t(postmaster));
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            char* end = nullptr;
            long pid = std::strtol(e->d_name, &end, 10);
            if (*end != '\0' || pid <= 0) continue;
            if (proc_ppid(pid_t(pid)) == pid_t(postmaster)) {
                double cpu = proc_cpu_seconds(pid_t(pid));
                if (cpu >= 0) out[pid_t(pid)] = cpu;
            }
        }
        closedir(d);
    }
    return out;
}

/// CPU used between two postgres_cpu samples (new processes count from zero; processes
/// that exited in between are lost, which the tool avoids by keeping its connections open).
double cpu_delta(const std::map<pid_t, double>& before, const std::map<pid_t, double>& after) {
    double sum = 0;
    for (const auto& [pid, cpu] : after) {
        auto it = before.find(pid);
        sum += cpu - (it == before.end() ? 0.0 : it->second);
    }
    return sum;
}

double self_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// CPU seconds all cores spent busy (user, nice, system, irq, softirq, steal) since boot,
/// from the first line of /proc/stat: with the tool's, walcast's and Postgres' own CPU this
/// shows how much the rest of the machine (other people's builds) took during a step.
double machine_busy_seconds() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                       steal = 0;
    if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal))
        return 0;
    return double(user + nice + system + irq + softirq + steal) / double(sysconf(_SC_CLK_TCK));
}

/// CPU of the tool, walcast, Postgres and the whole machine, sampled together.
struct CpuSample {
    std::chrono::steady_clock::time_point at;
    double machine = 0;
    double self = 0;
    double server = -1;
    std::map<pid_t, double> postgres;
};

// ------------------------------------------------------------------------------ options

struct Options {
    std::string url = "ws://127.0.0.1:4000/socket";
    std::string db;
    std::string jwt_secret;
    std::string table = "bench_changes";
    std::string schema = "public";
    std::string filter;
    int clients = 1000;
    int identities = 1;
    bool rls = false;
    int hidden_every = 0;
    bool setup = false;
    std::vector<double> rates{100};
    double duration_s = 20;
    double warmup_s = 2;
    double drain_timeout_s = 60;
    int body_bytes = 64;
    int max_rows_per_txn = 1000;
    unsigned threads = 1;
    int connect_parallel = 200;
    int join_parallel = 500;
    bool idle = false;
    double hold_s = 5;
    pid_t server_pid = 0;
    std::string pg_data_dir;
    std::string label;
    bool floor = false;
    unsigned floor_threads = 2;
    bool broadcast = false; ///< --broadcast: one sender, all clients members of one topic
    bool presence = false;  ///< --presence: all clients join one presence topic and track
    double presence_timeout_s = 120;
};

/// The topic every client joins in --broadcast and --presence (spec §7.1, §7.2).
constexpr std::string_view broadcast_topic = "realtime:bench-room";
constexpr std::string_view presence_topic = "realtime:bench-presence";
/// The user event of the benchmark's broadcasts.
constexpr std::string_view broadcast_event = "bench";

/// A V2 binary user broadcast push, kind 3 (C→S, spec §2.2): header bytes, then join_ref, ref,
/// topic, user event, metadata (none) and the JSON payload.
std::string user_broadcast_push(std::string_view join_ref, std::string_view topic,
                                std::string_view event, std::string_view json_payload) {
    std::string out;
    out.reserve(7 + join_ref.size() + topic.size() + event.size() + json_payload.size());
    out += char(3);
    out += char(join_ref.size());
    out += char(0); // ref: none (no ack asked for)
    out += char(topic.size());
    out += char(event.size());
    out += char(0); // metadata length
    out += char(1); // payload encoding: JSON
    out += join_ref;
    out += topic;
    out += event;
    out += json_payload;
    return out;
}

/// The user payload of a V2 binary user broadcast, kind 4 (S→C, spec §2.2): `04 topic_len
/// event_len metadata_len encoding` then the strings; empty when the frame is not kind 4.
std::string_view user_broadcast_payload(std::string_view f) {
    if (f.size() < 5 || f[0] != char(4)) return {};
    const std::size_t skip = 5 + std::size_t(std::uint8_t(f[1])) + std::size_t(std::uint8_t(f[2])) +
                             std::size_t(std::uint8_t(f[3]));
    return skip <= f.size() ? f.substr(skip) : std::string_view{};
}

// ------------------------------------------------------------------------- V2 scanning

/// The five elements of a V2 text frame `[join_ref, ref, topic, event, payload]` as views;
/// strings without their quotes, `null` as an empty view with is_null set.
struct V2Head {
    std::string_view join_ref, ref, topic, event, payload;
    bool ref_null = false;
};

// Reads one element that is `null` or a JSON string without escapes at s[pos]; moves pos
// past it and the following comma. walcast writes refs, topics and events this way.
bool scan_scalar(std::string_view s, std::size_t& pos, std::string_view& out, bool& is_null) {
    if (s.compare(pos, 4, "null") == 0) {
        out = {};
        is_null = true;
        pos += 4;
    } else if (pos < s.size() && s[pos] == '"') {
        std::size_t end = s.find('"', pos + 1);
        if (end == std::string_view::npos) return false;
        out = s.substr(pos + 1, end - pos - 1);
        is_null = false;
        pos = end + 1;
    } else {
        return false;
    }
    if (pos >= s.size() || s[pos] != ',') return false;
    ++pos;
    return true;
}

bool scan_v2(std::string_view s, V2Head& h) {
    if (s.size() < 2 || s.front() != '[' || s.back() != ']') return false;
    std::size_t pos = 1;
    bool null_jr = false, null_topic = false, null_event = false;
    if (!scan_scalar(s, pos, h.join_ref, null_jr) || !scan_scalar(s, pos, h.ref, h.ref_null) ||
        !scan_scalar(s, pos, h.topic, null_topic) || !scan_scalar(s, pos, h.event, null_event))
        return false;
    h.payload = s.substr(pos, s.size() - 1 - pos);
    return true;
}

// The integer after `key` in s, searching from `from`; false when absent or not a number.
bool find_int(std::string_view s, std::size_t from, std::string_view key, std::int64_t& out) {
    std::size_t k = s.find(key, from);
    if (k == std::string_view::npos) return false;
    std::size_t i = k + key.size();
    bool neg = i < s.size() && s[i] == '-';
    if (neg) ++i;
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    std::int64_t v = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
        v = v * 10 + (s[i] - '0');
    out = neg ? -v : v;
    return true;
}

// ------------------------------------------------------------------------------ clients

/// What one worker thread measured during a step (touched only on its thread).
struct StepStats {
    LatencyHistogram latency;
    std::uint64_t delivered = 0;  ///< postgres_changes rows with an id in the step's range
    std::uint64_t duplicates = 0; ///< an id a client had already received
    std::uint64_t out_of_order = 0;
    std::uint64_t unexpected = 0; ///< rows the policy hides that arrived anyway (a leak)
    std::uint64_t stray = 0;      ///< ids outside the step (late rows of an earlier step)
    std::uint64_t error_rows = 0; ///< rows with `errors` set (e.g. a failed RLS check)
    std::uint64_t unparsed = 0;   ///< postgres_changes messages without record id / t_us
    std::uint64_t bytes = 0;      ///< text payload bytes of the delivered messages
};

class Worker;

/// One WebSocket client: connect, HTTP upgrade, one phx_join, then receive. Lives on its
/// worker's thread only.
class Client : public std::enable_shared_from_this<Client> {
public:
    enum class State { Idle, Connecting, Open, Joining, Joined, Failed, Closed };

    Client(Worker& worker, int index, const std::string* token);

    void start_connect();
    void send_join();
    void send_heartbeat();
    void shutdown();
    /// --broadcast sender: one binary user broadcast with payload {"id": id, "t_us": now}.
    void send_broadcast(std::int64_t id);
    /// --presence: one track push with payload {"i": index}.
    void send_track();
    /// --presence: distinct keys in this client's presence state, and when it held all.
    int presence_keys() const { return presence_count_; }
    std::int64_t presence_full_us() const { return presence_full_us_; }
    std::uint64_t presence_messages() const { return presence_messages_; }

    State state() const { return state_; }
    std::uint64_t received() const { return received_; }
    /// Whether the id at offset `off` of the current step arrived.
    bool seen(std::int64_t off) const { return (seen_[std::size_t(off) >> 6] >> (off & 63)) & 1; }
    void reset_step(std::size_t ids) {
        seen_.assign((ids + 63) / 64, 0);
        received_ = 0;
        last_id_ = 0;
    }

    std::string failure; ///< why the client failed or closed, for the report

private:
    void on_connected(const boost::system::error_code& ec);
    void wait_readable();
    void on_readable(const boost::system::error_code& ec);
    bool on_handshake_bytes(std::uint8_t* data, std::size_t n, std::int64_t now_us);
    bool feed(std::uint8_t* data, std::size_t n, std::int64_t now_us);
    void on_text(std::string_view text, std::int64_t now_us);
    void on_change(std::string_view payload, std::size_t text_bytes, std::int64_t now_us);
    void on_broadcast(std::string_view payload, std::size_t frame_bytes, std::int64_t now_us);
    void count_delivery(std::int64_t id, std::int64_t t_us, std::size_t bytes, std::int64_t now_us);
    void on_presence(std::string_view event, std::string_view payload, std::int64_t now_us);
    void send_text(std::string_view payload);
    void start_write();
    void fail(std::string why, State to = State::Failed);

    Worker& worker_;
    tcp::socket socket_;
    int index_;
    const std::string* token_;
    WebSocketFrameParser parser_;
    State state_ = State::Idle;
    std::string handshake_;
    std::string out_, inflight_;
    bool writing_ = false;
    std::uint64_t next_ref_ = 1;
    std::string join_ref_;
    std::string topic_;
    std::vector<std::uint64_t> seen_; ///< bit per id of the current step
    std::uint64_t received_ = 0;
    std::int64_t last_id_ = 0;
    // --presence: key "m<i>" of client i present in this client's state (bit i).
    std::vector<bool> present_;
    int presence_count_ = 0;
    std::int64_t presence_full_us_ = 0;
    std::uint64_t presence_messages_ = 0;
};

/// One thread, one io_context, a share of the clients and their step statistics.
class Worker {
public:
    Worker(const Options& o, tcp::endpoint ep, std::string host, std::string path)
        : options(o), endpoint(ep), host_header(std::move(host)), path_prefix(std::move(path)),
          work_(asio::make_work_guard(io)), heartbeat_(io),
          rng_(0x9e3779b97f4a7c15ULL ^ ep.port()) {}

    void run() {
        thread_ = std::thread([this] { io.run(); });
    }
    void stop() {
        asio::post(io, [this] {
            heartbeat_.cancel();
            for (auto& c : clients)
                c->shutdown();
            work_.reset();
        });
        if (thread_.joinable()) thread_.join();
    }

    /// Runs f on the worker thread and waits for its result.
    template <class F> auto call(F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto fut = task.get_future();
        asio::post(io, [&task] { task(); });
        return fut.get();
    }

    // --- connection phases, driven on the worker thread with bounded parallelism
    void start_connects() {
        for (int i = 0; i < options.connect_parallel && next_connect_ < clients.size(); ++i)
            clients[next_connect_++]->start_connect();
    }
    void connect_done() {
        if (next_connect_ < clients.size()) clients[next_connect_++]->start_connect();
    }
    void start_joins() {
        for (int i = 0; i < options.join_parallel && next_join_ < clients.size(); ++i)
            join_next();
        arm_heartbeat();
    }
    void join_done() {
        if (next_join_ < clients.size()) join_next();
    }

    /// A masking key (RFC 6455 §5.3): xorshift, good enough for a load tool.
    server::MaskKey mask_key() {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        server::MaskKey k;
        std::memcpy(k.data(), &rng_, 4);
        return k;
    }

    std::array<std::uint8_t, read_chunk_bytes>& read_buffer() { return read_buffer_; }

    const Options& options;
    asio::io_context io;
    tcp::endpoint endpoint;
    std::string host_header;
    std::string path_prefix;
    std::vector<std::shared_ptr<Client>> clients;

    // Step state (worker thread).
    std::int64_t step_first_id = 0;
    std::int64_t step_ids = 0;
    StepStats stats;
    std::int64_t last_receive_us = 0;

    // Progress, read by the main thread.
    std::atomic<int> connected{0}, connect_failed{0}, joined{0}, join_failed{0}, closed{0};
    std::atomic<int> system_errors{0};
    std::atomic<std::uint64_t> delivered_total{0};
    // --presence (worker thread; read by the main thread once the clients are idle or after
    // the atomic presence_full says all are full).
    std::atomic<int> presence_full{0};
    std::atomic<std::uint64_t> presence_messages{0};
    std::uint64_t presence_duplicate_joins = 0, presence_leaves = 0;
    std::string first_error; ///< first join/system error text (worker thread)

private:
    void join_next() {
        while (next_join_ < clients.size()) {
            auto& c = clients[next_join_++];
            if (c->state() == Client::State::Open) {
                c->send_join();
                return;
            }
        }
    }
    void arm_heartbeat() {
        heartbeat_.expires_after(heartbeat_interval);
        heartbeat_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            for (auto& c : clients)
                c->send_heartbeat();
            arm_heartbeat();
        });
    }

    asio::executor_work_guard<asio::io_context::executor_type> work_;
    asio::steady_timer heartbeat_;
    std::uint64_t rng_;
    std::size_t next_connect_ = 0;
    std::size_t next_join_ = 0;
    std::array<std::uint8_t, read_chunk_bytes> read_buffer_{};
    std::thread thread_;
};

Client::Client(Worker& worker, int index, const std::string* token)
    : worker_(worker), socket_(worker.io), index_(index), token_(token),
      parser_(FrameRole::Client) {}

void Client::start_connect() {
    state_ = State::Connecting;
    socket_.async_connect(worker_.endpoint,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                              self->on_connected(ec);
                          });
}

void Client::on_connected(const boost::system::error_code& ec) {
    if (ec) {
        fail("connect: " + ec.message()); // counts connect_failed
        return;
    }
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    socket_.set_option(tcp::no_delay(true), ignored);
    // RFC 6455 §4.1 opening handshake; the key is fixed (the server only echoes its hash).
    std::string req = "GET " + worker_.path_prefix + "/websocket?apikey=" + *token_ +
                      "&vsn=2.0.0 HTTP/1.1\r\nHost: " + worker_.host_header +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    out_ += req;
    start_write();
    wait_readable();
}

void Client::wait_readable() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                           self->on_readable(ec);
                       });
}

void Client::on_readable(const boost::system::error_code& ec) {
    if (state_ == State::Failed || state_ == State::Closed) return;
    if (ec) return fail("read: " + ec.message(), State::Closed);
    auto& buf = worker_.read_buffer();
    for (;;) {
        boost::system::error_code rec;
        std::size_t n = socket_.read_some(asio::buffer(buf), rec);
        if (rec == asio::error::would_block || rec == asio::error::try_again) break;
        if (rec) return fail("connection closed by the server: " + rec.message(), State::Closed);
        const std::int64_t now = realtime_us();
        bool ok = state_ == State::Connecting ? on_handshake_bytes(buf.data(), n, now)
                                              : feed(buf.data(), n, now);
        if (!ok) return;
        if (n < buf.size()) break;
    }
    wait_readable();
}

bool Client::on_handshake_bytes(std::uint8_t* data, std::size_t n, std::int64_t now_us) {
    handshake_.append(reinterpret_cast<const char*>(data), n);
    auto end = handshake_.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (handshake_.size() > 16384) fail("oversized HTTP response");
        return state_ == State::Connecting;
    }
    if (handshake_.rfind("HTTP/1.1 101", 0) != 0) {
        fail("upgrade refused: " + handshake_.substr(0, handshake_.find("\r\n")) + " " +
             handshake_.substr(end + 4)); // counts connect_failed
        return false;
    }
    state_ = State::Open;
    ++worker_.connected;
    worker_.connect_done();
    std::string rest = handshake_.substr(end + 4);
    std::string().swap(handshake_);
    if (rest.empty()) return true;
    return feed(reinterpret_cast<std::uint8_t*>(rest.data()), rest.size(), now_us);
}

bool Client::feed(std::uint8_t* data, std::size_t n, std::int64_t now_us) {
    std::span<std::uint8_t> input(data, n);
    while (!input.empty()) {
        auto r = parser_.parse(input);
        if (!r) {
            fail("bad frame from the server: " + r.error().message, State::Closed);
            return false;
        }
        input = input.subspan(r->consumed);
        if (!r->message) continue;
        const WebSocketMessage& m = *r->message;
        switch (m.kind) {
        case WebSocketMessage::Kind::Text:
            on_text(m.payload, now_us);
            break;
        case WebSocketMessage::Kind::Binary:
            if (auto p = user_broadcast_payload(m.payload); !p.empty())
                on_broadcast(p, m.payload.size(), now_us);
            else
                ++worker_.stats.unparsed;
            break;
        case WebSocketMessage::Kind::Ping:
            out_ += server::encode_client_frame(Opcode::Pong, m.payload, worker_.mask_key());
            start_write();
            break;
        case WebSocketMessage::Kind::Close:
            fail("server closed the socket: code " + std::to_string(m.close_code) + " " +
                     std::string(m.payload),
                 State::Closed);
            return false;
        default:
            break;
        }
        if (state_ == State::Failed || state_ == State::Closed) return false;
    }
    return true;
}

void Client::on_text(std::string_view text, std::int64_t now_us) {
    V2Head h;
    if (!scan_v2(text, h)) {
        ++worker_.stats.unparsed;
        return;
    }
    if (h.event == "postgres_changes") return on_change(h.payload, text.size(), now_us);
    if (h.event == "broadcast") return on_broadcast(h.payload, text.size(), now_us);
    if (h.event == "presence_state" || h.event == "presence_diff")
        return on_presence(h.event, h.payload, now_us);
    if (h.event == "phx_reply") {
        if (state_ != State::Joining || h.ref != join_ref_) return; // heartbeat replies
        if (h.payload.find("\"status\":\"ok\"") != std::string_view::npos) {
            state_ = State::Joined;
            ++worker_.joined;
            worker_.join_done();
        } else {
            if (worker_.first_error.empty()) worker_.first_error = std::string(h.payload);
            fail("join refused: " + std::string(h.payload)); // counts join_failed
        }
        return;
    }
    if (h.event == "system") {
        if (h.payload.find("\"status\":\"error\"") != std::string_view::npos) {
            if (worker_.first_error.empty()) worker_.first_error = std::string(h.payload);
            ++worker_.system_errors;
        }
        return;
    }
    if (h.event == "phx_close" || h.event == "phx_error")
        fail("channel ended by the server: " + std::string(h.event), State::Closed);
}

void Client::on_change(std::string_view payload, std::size_t text_bytes, std::int64_t now_us) {
    StepStats& st = worker_.stats;
    std::size_t rec = payload.find("\"record\":{");
    std::int64_t id = 0, t_us = 0;
    if (rec == std::string_view::npos || !find_int(payload, rec, "\"id\":", id) ||
        !find_int(payload, rec, "\"t_us\":", t_us)) {
        if (payload.find("\"errors\":[") != std::string_view::npos)
            ++st.error_rows;
        else
            ++st.unparsed;
        return;
    }
    count_delivery(id, t_us, text_bytes, now_us);
}

void Client::on_broadcast(std::string_view payload, std::size_t frame_bytes, std::int64_t now_us) {
    // A 1.0.0-style text envelope or a kind 4 payload: both carry {"id":…,"t_us":…}.
    std::int64_t id = 0, t_us = 0;
    if (!find_int(payload, 0, "\"id\":", id) || !find_int(payload, 0, "\"t_us\":", t_us)) {
        ++worker_.stats.unparsed;
        return;
    }
    count_delivery(id, t_us, frame_bytes, now_us);
}

void Client::on_presence(std::string_view event, std::string_view payload, std::int64_t now_us) {
    ++presence_messages_;
    ++worker_.presence_messages;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(payload, ec);
    if (ec || !v.is_object()) {
        ++worker_.stats.unparsed;
        return;
    }
    if (present_.empty()) present_.assign(std::size_t(worker_.options.clients), false);
    // presence_state: {key: {metas}}; presence_diff: {"joins": {…}, "leaves": {…}} (§7.2.4).
    auto apply = [&](const boost::json::object& keys, bool join) {
        for (const auto& kv : keys) {
            const std::string_view k = kv.key();
            if (k.size() < 2 || k[0] != 'm') continue;
            const long i = std::strtol(std::string(k.substr(1)).c_str(), nullptr, 10);
            if (i < 0 || i >= long(present_.size())) continue;
            if (present_[std::size_t(i)] == join) {
                if (join) ++worker_.presence_duplicate_joins;
                continue;
            }
            present_[std::size_t(i)] = join;
            presence_count_ += join ? 1 : -1;
            if (!join) ++worker_.presence_leaves;
        }
    };
    const auto& o = v.as_object();
    if (event == "presence_state") {
        apply(o, true);
    } else {
        if (auto* j = o.if_contains("joins"); j && j->is_object()) apply(j->as_object(), true);
        if (auto* l = o.if_contains("leaves"); l && l->is_object()) apply(l->as_object(), false);
    }
    if (presence_count_ == worker_.options.clients && presence_full_us_ == 0) {
        presence_full_us_ = now_us;
        ++worker_.presence_full;
    }
}

void Client::count_delivery(std::int64_t id, std::int64_t t_us, std::size_t bytes,
                            std::int64_t now_us) {
    StepStats& st = worker_.stats;
    worker_.last_receive_us = now_us;
    const std::int64_t off = id - worker_.step_first_id;
    if (off < 0 || off >= worker_.step_ids) {
        ++st.stray;
        return;
    }
    auto& word = seen_[std::size_t(off) >> 6];
    const std::uint64_t bit = std::uint64_t(1) << (off & 63);
    if (word & bit) {
        ++st.duplicates;
        return;
    }
    word |= bit;
    if (id < last_id_) ++st.out_of_order;
    last_id_ = id;
    if (worker_.options.hidden_every > 0 && id % worker_.options.hidden_every == 0) ++st.unexpected;
    ++received_;
    ++st.delivered;
    st.bytes += bytes;
    st.latency.record(now_us - t_us);
    worker_.delivered_total.store(worker_.delivered_total.load(std::memory_order_relaxed) + 1,
                                  std::memory_order_relaxed);
}

void Client::send_join() {
    state_ = State::Joining;
    join_ref_ = std::to_string(next_ref_++);
    const Options& o = worker_.options;
    boost::json::array bindings;
    std::string topic;
    boost::json::object presence{{"key", ""}, {"enabled", false}};
    if (o.broadcast) {
        topic = std::string(broadcast_topic); // one topic for all, no postgres_changes
    } else if (o.presence) {
        topic = std::string(presence_topic);
        presence = {{"key", "m" + std::to_string(index_)}, {"enabled", true}};
    } else {
        boost::json::object binding{{"event", "INSERT"}, {"schema", o.schema}, {"table", o.table}};
        if (!o.filter.empty()) binding["filter"] = o.filter;
        bindings.push_back(std::move(binding));
        topic = "realtime:bench-" + std::to_string(index_);
    }
    boost::json::object config{
        {"broadcast", {{"ack", false}, {"self", false}}},
        {"presence", std::move(presence)},
        {"postgres_changes", std::move(bindings)},
        {"private", false},
    };
    boost::json::object payload{{"config", std::move(config)}, {"access_token", *token_}};
    topic_ = topic;
    std::string msg = "[\"" + join_ref_ + "\",\"" + join_ref_ + "\",\"" + topic +
                      "\",\"phx_join\"," + boost::json::serialize(payload) + "]";
    send_text(msg);
}

void Client::send_heartbeat() {
    if (state_ != State::Joined && state_ != State::Joining && state_ != State::Open) return;
    send_text("[null,\"" + std::to_string(next_ref_++) + "\",\"phoenix\",\"heartbeat\",{}]");
}

void Client::send_broadcast(std::int64_t id) {
    if (state_ != State::Joined) return;
    const std::string payload =
        "{\"id\":" + std::to_string(id) + ",\"t_us\":" + std::to_string(realtime_us()) + "}";
    out_ += server::encode_client_frame(
        Opcode::Binary, user_broadcast_push(join_ref_, topic_, broadcast_event, payload),
        worker_.mask_key());
    start_write();
}

void Client::send_track() {
    if (state_ != State::Joined) return;
    send_text("[\"" + join_ref_ + "\",\"" + std::to_string(next_ref_++) + "\",\"" + topic_ +
              "\",\"presence\",{\"type\":\"presence\",\"event\":\"track\",\"payload\":{\"i\":" +
              std::to_string(index_) + "}}]");
}

void Client::send_text(std::string_view payload) {
    out_ += server::encode_client_frame(Opcode::Text, payload, worker_.mask_key());
    start_write();
}

void Client::start_write() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    inflight_.swap(out_);
    asio::async_write(
        socket_, asio::buffer(inflight_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
            self->writing_ = false;
            self->inflight_.clear();
            if (ec) return self->fail("write: " + ec.message(), State::Closed);
            self->start_write();
        });
}

void Client::fail(std::string why, State to) {
    if (state_ == State::Failed || state_ == State::Closed) return;
    if (state_ == State::Joined) ++worker_.closed;
    if (state_ == State::Connecting) {
        ++worker_.connect_failed;
        worker_.connect_done();
    }
    if (state_ == State::Joining) {
        ++worker_.join_failed;
        worker_.join_done();
    }
    state_ = to;
    failure = std::move(why);
    boost::system::error_code ignored;
    socket_.close(ignored);
}

void Client::shutdown() {
    state_ = State::Closed;
    boost::system::error_code ignored;
    socket_.close(ignored);
}

// ----------------------------------------------------------------------------- producer

/// What the producer committed in one step.
struct ProduceResult {
    std::int64_t rows = 0;
    std::int64_t transactions = 0;
    double seconds = 0;
    LatencyHistogram commit_us; ///< round trip of each INSERT (autocommit: includes commit)
    std::string error;
};

/// Commits rows [first, first + n); returns an error message or "".
using CommitFn = std::function<std::string(std::int64_t first, std::int64_t n)>;

/// Commits ids [first, first + count) in order at `rate` rows/s. Rows due together (the
/// committer fell behind the schedule) go into one call of at most max_rows_per_txn rows, so
/// the offered rate holds as long as Postgres can commit it.
ProduceResult produce(const CommitFn& commit, std::int64_t first, std::int64_t count, double rate,
                      const Options& o) {
    ProduceResult r;
    const auto start = std::chrono::steady_clock::now();
    std::int64_t sent = 0;
    while (sent < count) {
        const double elapsed = seconds_since(start);
        std::int64_t due = std::min<std::int64_t>(count, std::int64_t(elapsed * rate) + 1);
        if (due <= sent) {
            auto next = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(double(sent) / rate));
            std::this_thread::sleep_until(next);
            continue;
        }
        const std::int64_t n = std::min<std::int64_t>(due - sent, o.max_rows_per_txn);
        const auto t0 = std::chrono::steady_clock::now();
        if (std::string err = commit(first + sent, n); !err.empty()) {
            r.error = std::move(err);
            break;
        }
        r.commit_us.record(std::int64_t(seconds_since(t0) * 1e6));
        sent += n;
        ++r.transactions;
    }
    r.rows = sent;
    r.seconds = seconds_since(start);
    return r;
}

// -------------------------------------------------------------------------------- floor

/// --floor: an in-process stand-in for walcast doing only the unavoidable part of a fan-out:
/// per change, one ready-made postgres_changes frame written with one writev() per client, by
/// `threads` sender threads (walcast runs one I/O thread per core). The same clients measure
/// it, so its latency and CPU per message are what this machine's loopback TCP and scheduler
/// allow: a floor to compare walcast with. It answers the upgrade and the join with canned
/// replies and ignores everything else the clients send.
class FloorServer {
public:
    ~FloorServer() { stop(); }

    /// Listens on 127.0.0.1 (any port) and starts the accept and sender threads.
    Status start(unsigned threads, const Options& o) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listen_fd_, 4096) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            return make_error(Errc::Unavailable,
                              std::string("floor server: cannot listen: ") + std::strerror(errno));
        port_ = ntohs(addr.sin_port);
        table_ = o.table;
        body_.assign(std::size_t(std::max(0, o.body_bytes)), 'x');
        epoll_fd_ = ::epoll_create1(0);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = listen_fd_;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
        threads_.emplace_back([this] { accept_loop(); });
        for (unsigned k = 0; k < std::max(1u, threads); ++k)
            threads_.emplace_back([this, k, n = std::max(1u, threads)] { sender_loop(k, n); });
        return {};
    }

    void stop() {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            t.join();
        for (auto& [fd, c] : conns_)
            ::close(fd);
        if (listen_fd_ >= 0) ::close(listen_fd_);
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
    }

    std::uint16_t port() const { return port_; }

    /// "Commits" rows [first, first + n): stamps them with the current time and wakes the
    /// senders. Returns "" (the CommitFn contract).
    std::string publish(std::int64_t first, std::int64_t n) {
        {
            std::lock_guard lock(mu_);
            published_.push_back({first, n, realtime_us(), nullptr, -1});
        }
        cv_.notify_all();
        return {};
    }

    /// CPU seconds of the floor server's threads (accept + senders).
    double cpu_seconds() const {
        double sum = 0;
        std::lock_guard lock(mu_);
        for (pid_t tid : tids_)
            sum += std::max(0.0, thread_cpu_seconds(tid));
        return sum;
    }

private:
    struct Batch {
        std::int64_t first, n, t_us;
        /// --broadcast: the ready kind 4 frame relayed to every target but `source`.
        std::shared_ptr<const std::string> frame;
        int source = -1;
    };
    struct Conn {
        std::string in;
        WebSocketFrameParser parser{FrameRole::Server};
        bool upgraded = false;
        bool joined = false;
    };
    struct Target {
        int fd;
        std::string prefix; ///< `[null,null,"<topic>","postgres_changes",`
    };

    void register_thread() {
        std::lock_guard lock(mu_);
        tids_.push_back(pid_t(::syscall(SYS_gettid)));
    }

    static void write_all(int fd, const char* data, std::size_t n) {
        while (n > 0) {
            ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
            if (w > 0) {
                data += w;
                n -= std::size_t(w);
            } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                pollfd p{fd, POLLOUT, 0};
                ::poll(&p, 1, 1000);
            } else {
                return; // peer gone
            }
        }
    }

    void accept_loop() {
        register_thread();
        std::array<epoll_event, 256> events;
        std::array<char, 65536> buf;
        for (;;) {
            {
                std::lock_guard lock(mu_);
                if (stopping_) return;
            }
            int n = ::epoll_wait(epoll_fd_, events.data(), int(events.size()), 100);
            for (int i = 0; i < n; ++i) {
                const int fd = events[std::size_t(i)].data.fd;
                if (fd == listen_fd_) {
                    for (;;) {
                        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK);
                        if (c < 0) break;
                        int one = 1;
                        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        epoll_event ev{};
                        ev.events = EPOLLIN;
                        ev.data.fd = c;
                        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c, &ev);
                        conns_.emplace(c, std::make_unique<Conn>());
                    }
                    continue;
                }
                auto it = conns_.find(fd);
                if (it == conns_.end()) continue;
                ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
                if (r <= 0) {
                    if (r == 0 || (errno != EAGAIN && errno != EINTR))
                        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
                    continue;
                }
                on_bytes(fd, *it->second, buf.data(), std::size_t(r));
            }
        }
    }

    void on_bytes(int fd, Conn& c, char* data, std::size_t n) {
        if (!c.upgraded) {
            c.in.append(data, n);
            auto end = c.in.find("\r\n\r\n");
            if (end == std::string::npos) return;
            const std::string_view ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                        "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                                        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
            write_all(fd, ok.data(), ok.size());
            c.upgraded = true;
            std::string rest = c.in.substr(end + 4);
            std::string().swap(c.in);
            if (!rest.empty()) on_bytes(fd, c, rest.data(), rest.size());
            return;
        }
        std::span<std::uint8_t> input(reinterpret_cast<std::uint8_t*>(data), n);
        while (!input.empty()) {
            auto r = c.parser.parse(input);
            if (!r) return;
            input = input.subspan(r->consumed);
            if (r->message && r->message->kind == WebSocketMessage::Kind::Binary && c.joined) {
                relay_user_broadcast(fd, r->message->payload);
                continue;
            }
            if (!r->message || r->message->kind != WebSocketMessage::Kind::Text || c.joined)
                continue;
            V2Head h;
            if (!scan_v2(r->message->payload, h) || h.event != "phx_join") continue;
            const std::string topic(h.topic);
            const std::string reply = server::encode_server_frame(
                Opcode::Text, "[\"" + std::string(h.join_ref) + "\",\"" + std::string(h.ref) +
                                  "\",\"" + topic +
                                  "\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]");
            c.joined = true;
            {
                // Join the fan-out before replying: a row published after the reply reaches it.
                std::lock_guard lock(mu_);
                targets_.push_back({fd, "[null,null,\"" + topic + "\",\"postgres_changes\","});
            }
            write_all(fd, reply.data(), reply.size());
        }
    }

    // --broadcast: a kind 3 push becomes the kind 4 frame walcast relays (spec §2.2), encoded
    // once and written to every other client by the sender threads.
    void relay_user_broadcast(int source, std::string_view push) {
        if (push.size() < 7 || push[0] != char(3)) return;
        const std::size_t jr = std::uint8_t(push[1]), ref = std::uint8_t(push[2]),
                          topic = std::uint8_t(push[3]), event = std::uint8_t(push[4]),
                          meta = std::uint8_t(push[5]);
        const std::size_t head = 7 + jr + ref;
        if (head + topic + event + meta > push.size()) return;
        std::string out;
        out += char(4);
        out += char(topic);
        out += char(event);
        out += char(meta);
        out += push[6];
        out += push.substr(head);
        std::array<std::uint8_t, server::max_server_frame_header_bytes> hdr;
        const std::size_t h = server::write_frame_header(hdr.data(), Opcode::Binary, out.size());
        auto frame = std::make_shared<std::string>(reinterpret_cast<const char*>(hdr.data()), h);
        *frame += out;
        {
            std::lock_guard lock(mu_);
            published_.push_back({0, 0, 0, std::move(frame), source});
        }
        cv_.notify_all();
    }

    // The data object walcast would send for a row of the bench table (spec §4.1).
    std::string row_data(std::int64_t id, std::int64_t t_us) const {
        std::string d =
            "{\"ids\":[1],\"data\":{\"columns\":[{\"name\":\"id\",\"type\":\"int8\"},"
            "{\"name\":\"org\",\"type\":\"text\"},{\"name\":\"t_us\",\"type\":\"int8\"},"
            "{\"name\":\"body\",\"type\":\"text\"}],\"commit_timestamp\":"
            "\"2026-01-01T00:00:00.000Z\",\"errors\":null,\"record\":{\"id\":";
        d += std::to_string(id);
        d += ",\"org\":\"bench\",\"t_us\":";
        d += std::to_string(t_us);
        d += ",\"body\":\"" + body_ + "\"},\"schema\":\"public\",\"table\":\"" + table_ +
             "\",\"type\":\"INSERT\"}}]";
        return d;
    }

    void sender_loop(unsigned k, unsigned nthreads) {
        register_thread();
        std::size_t next = 0;
        std::vector<Target> mine; // this thread's share of the clients, refreshed on joins
        std::size_t seen_targets = 0;
        for (;;) {
            Batch b{};
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || next < published_.size(); });
                if (stopping_) return;
                b = published_[next++];
                if (seen_targets != targets_.size()) {
                    mine.clear();
                    for (std::size_t i = k; i < targets_.size(); i += nthreads)
                        mine.push_back(targets_[i]);
                    seen_targets = targets_.size();
                }
            }
            if (b.frame) {
                for (const auto& t : mine)
                    if (t.fd != b.source) write_all(t.fd, b.frame->data(), b.frame->size());
                continue;
            }
            for (std::int64_t id = b.first; id < b.first + b.n; ++id) {
                const std::string data = row_data(id, b.t_us); // ends with the closing `]`
                for (const auto& t : mine) {
                    std::array<std::uint8_t, server::max_server_frame_header_bytes> hdr;
                    const std::size_t h = server::write_frame_header(hdr.data(), Opcode::Text,
                                                                     t.prefix.size() + data.size());
                    iovec iov[3] = {{hdr.data(), h},
                                    {const_cast<char*>(t.prefix.data()), t.prefix.size()},
                                    {const_cast<char*>(data.data()), data.size()}};
                    const std::size_t total = h + t.prefix.size() + data.size();
                    ssize_t w = ::writev(t.fd, iov, 3);
                    if (w >= 0 && std::size_t(w) < total) {
                        // Rare partial write: finish it the slow way.
                        std::string all(reinterpret_cast<char*>(hdr.data()), h);
                        all += t.prefix;
                        all += data;
                        write_all(t.fd, all.data() + w, total - std::size_t(w));
                    } else if (w < 0 && errno == EAGAIN) {
                        std::string all(reinterpret_cast<char*>(hdr.data()), h);
                        all += t.prefix;
                        all += data;
                        write_all(t.fd, all.data(), all.size());
                    }
                }
            }
        }
    }

    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    std::uint16_t port_ = 0;
    std::string table_, body_;
    std::unordered_map<int, std::unique_ptr<Conn>> conns_; ///< accept thread only
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::vector<Batch> published_;
    std::vector<Target> targets_;
    std::vector<pid_t> tids_;
    std::vector<std::thread> threads_;
};

// --------------------------------------------------------------------------------- main

struct Url {
    std::string host, port, path;
};

Result<Url> parse_ws_url(const std::string& url) {
    constexpr std::string_view scheme = "ws://";
    if (url.rfind(scheme, 0) != 0)
        return make_error(Errc::Config,
                          "--url must start with ws:// (e.g. ws://127.0.0.1:4000/socket)");
    std::string rest = url.substr(scheme.size());
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    Url u;
    u.path = slash == std::string::npos ? "/socket" : rest.substr(slash);
    if (u.path.size() > 10 && u.path.ends_with("/websocket")) u.path.resize(u.path.size() - 10);
    auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    u.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
    if (u.host == "localhost") u.host = "127.0.0.1";
    return u;
}

std::string identity_uuid(int k) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", k);
    return buf;
}

void raise_nofile() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

std::string setup_sql(const pg::Connection& c, const Options& o) {
    const std::string t = c.quote_ident(o.schema) + "." + c.quote_ident(o.table);
    std::string sql =
        "CREATE TABLE IF NOT EXISTS " + t +
        " (id bigint PRIMARY KEY, org text NOT NULL,"
        " t_us bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1e6)::bigint,"
        " body text);"
        "GRANT SELECT ON " +
        t + " TO anon, authenticated;";
    if (o.rls) {
        sql += "ALTER TABLE " + t +
               " ENABLE ROW LEVEL SECURITY;"
               "DROP POLICY IF EXISTS bench_same_org ON " +
               t +
               ";"
               "CREATE POLICY bench_same_org ON " +
               t + " FOR SELECT TO authenticated USING (org = (auth.jwt() ->> 'org'));";
    } else {
        sql += "ALTER TABLE " + t + " DISABLE ROW LEVEL SECURITY;";
    }
    sql += "DO $$ BEGIN IF NOT (SELECT puballtables FROM pg_publication WHERE pubname = "
           "'supabase_realtime') AND NOT EXISTS (SELECT 1 FROM pg_publication_tables WHERE "
           "pubname = 'supabase_realtime' AND schemaname = " +
           c.quote_literal(o.schema) + " AND tablename = " + c.quote_literal(o.table) +
           ") THEN ALTER PUBLICATION supabase_realtime ADD TABLE " + t + "; END IF; END $$;";
    return sql;
}

template <class Pred>
bool wait_for(Pred pred, double timeout_s,
              std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
    const auto start = std::chrono::steady_clock::now();
    while (!pred()) {
        if (seconds_since(start) > timeout_s) return false;
        std::this_thread::sleep_for(poll);
    }
    return true;
}

std::string fmt_ms(std::uint64_t us) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", double(us) / 1000.0);
    return b;
}

class LoadGen {
public:
    explicit LoadGen(Options o) : o_(std::move(o)) {}

    int run() {
        if (o_.floor) {
            floor_ = std::make_unique<FloorServer>();
            if (auto st = floor_->start(o_.floor_threads, o_); !st) return fail(st.error().message);
            o_.url = "ws://127.0.0.1:" + std::to_string(floor_->port()) + "/socket";
            o_.server_pid = 0;
            o_.pg_data_dir.clear();
        }
        auto url = parse_ws_url(o_.url);
        if (!url) return fail(url.error().message);
        if (o_.jwt_secret.empty())
            return fail("--jwt-secret (or JWT_SECRET) is required: the tool mints one token per "
                        "identity with walcast's secret");
        if (o_.identities < 1 || o_.identities > o_.clients)
            return fail("--identities must be between 1 and --clients");
        raise_nofile();
        rlimit rl{};
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < rlim_t(o_.clients) + 64)
            return fail("RLIMIT_NOFILE is " + std::to_string(rl.rlim_cur) + ", too low for " +
                        std::to_string(o_.clients) + " clients: raise it with ulimit -n");

        if (o_.broadcast && o_.presence)
            return fail("--broadcast and --presence exclude each other");
        if (o_.floor && (o_.presence || o_.idle))
            return fail("--floor measures streams only (changes or --broadcast)");
        const bool needs_db = !o_.floor && !o_.broadcast && !o_.presence;
        if (needs_db && (!o_.idle || o_.setup)) {
            if (o_.db.empty()) return fail("--db (a libpq URL) is required to commit changes");
            pg::ConnectParams p;
            p.database_url = o_.db;
            auto c = pg::Connection::connect(p);
            if (!c) return fail(c.error().message);
            db_ = std::move(c).value();
        }
        if (o_.setup && needs_db) {
            if (auto r = db_.exec_script(setup_sql(db_, o_)); !r)
                return fail("setting up the benchmark table: " + r.error().describe());
        }

        // Tokens: one per identity; identity k = sub k, same org, same exp (walcast keys an
        // identity by role + claims without exp).
        const std::int64_t exp = realtime_us() / 1'000'000 + 24 * 3600;
        for (int k = 0; k < o_.identities; ++k) {
            boost::json::object claims{{"role", "authenticated"},
                                       {"aud", "authenticated"},
                                       {"sub", identity_uuid(k)},
                                       {"org", "bench"},
                                       {"exp", exp}};
            tokens_.push_back(auth::sign_hs256(claims, o_.jwt_secret));
        }

        asio::io_context resolver_io;
        tcp::resolver resolver(resolver_io);
        boost::system::error_code ec;
        auto eps = resolver.resolve(url->host, url->port, ec);
        if (ec || eps.empty()) return fail("cannot resolve " + url->host + ": " + ec.message());
        const tcp::endpoint ep = *eps.begin();
        const unsigned nthreads = std::max(1u, o_.threads);
        for (unsigned t = 0; t < nthreads; ++t)
            workers_.push_back(
                std::make_unique<Worker>(o_, ep, url->host + ":" + url->port, url->path));
        for (int i = 0; i < o_.clients; ++i) {
            auto& w = *workers_[std::size_t(i) % nthreads];
            w.clients.push_back(
                std::make_shared<Client>(w, i, &tokens_[std::size_t(i % o_.identities)]));
        }
        for (auto& w : workers_)
            w->run();

        const long rss_before = o_.server_pid ? proc_rss_kb(o_.server_pid) : -1;
        if (o_.broadcast || o_.presence)
            std::printf("== %s: %d clients on %s, %u load thread(s)%s\n",
                        o_.label.empty() ? "loadgen" : o_.label.c_str(), o_.clients,
                        std::string(o_.broadcast ? broadcast_topic : presence_topic).c_str(),
                        nthreads, o_.broadcast ? ", one sender socket of its own" : "");
        else
            std::printf("== %s: %d clients, %d identities, %s, table %s.%s, %u load thread(s)\n",
                        o_.label.empty() ? "loadgen" : o_.label.c_str(), o_.clients, o_.identities,
                        o_.rls ? "RLS on" : "RLS off", o_.schema.c_str(), o_.table.c_str(),
                        nthreads);

        // Phase 1: connect and upgrade.
        auto t0 = std::chrono::steady_clock::now();
        for (auto& w : workers_)
            asio::post(w->io, [&w] { w->start_connects(); });
        wait_for(
            [&] { return sum(&Worker::connected) + sum(&Worker::connect_failed) >= o_.clients; },
            120);
        const double connect_s = seconds_since(t0);
        std::printf("   connected %d/%d in %.2f s (%d failed)\n", sum(&Worker::connected),
                    o_.clients, connect_s, sum(&Worker::connect_failed));
        if (sum(&Worker::connect_failed) > 0) print_failures();
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const long rss_connected = o_.server_pid ? proc_rss_kb(o_.server_pid) : -1;

        // Phase 2: join (each join reply comes once the binding is live).
        t0 = std::chrono::steady_clock::now();
        for (auto& w : workers_)
            asio::post(w->io, [&w] { w->start_joins(); });
        const int open = sum(&Worker::connected);
        wait_for([&] { return sum(&Worker::joined) + sum(&Worker::join_failed) >= open; }, 300);
        const double join_s = seconds_since(t0);
        joined_ = sum(&Worker::joined);
        std::printf("   joined %d/%d in %.2f s (%d refused, %d system errors)\n", joined_, open,
                    join_s, sum(&Worker::join_failed), sum(&Worker::system_errors));
        if (joined_ < o_.clients) print_failures();
        std::fflush(stdout);
        if (joined_ == 0) return fail("no client joined; see the errors above");

        if (o_.broadcast) {
            // The sender: its own socket and thread, joined after every member.
            sender_ = std::make_unique<Worker>(o_, ep, url->host + ":" + url->port, url->path);
            sender_->clients.push_back(std::make_shared<Client>(*sender_, -1, &tokens_[0]));
            sender_->run();
            asio::post(sender_->io, [this] { sender_->start_connects(); });
            wait_for([&] { return sender_->connected + sender_->connect_failed > 0; }, 30);
            asio::post(sender_->io, [this] { sender_->start_joins(); });
            wait_for([&] { return sender_->joined + sender_->join_failed > 0; }, 30);
            if (sender_->joined == 0) {
                sender_->stop();
                return fail("the sender did not join: " +
                            sender_->call([this] { return sender_->clients[0]->failure; }));
            }
        }
        int rc = o_.idle       ? run_idle(rss_before, rss_connected)
                 : o_.presence ? run_presence()
                               : run_steps();
        if (sender_) sender_->stop();
        for (auto& w : workers_)
            w->stop();
        return rc;
    }

private:
    int fail(const std::string& msg) {
        std::fprintf(stderr, "loadgen: %s\n", msg.c_str());
        return 1;
    }

    int sum(std::atomic<int> Worker::*field) const {
        int s = 0;
        for (const auto& w : workers_)
            s += (*w.*field).load();
        return s;
    }

    void print_failures() {
        std::map<std::string, int> reasons;
        for (auto& w : workers_) {
            w->call([&] {
                for (auto& c : w->clients)
                    if (!c->failure.empty()) ++reasons[c->failure.substr(0, 200)];
                if (!w->first_error.empty())
                    ++reasons["first error: " + w->first_error.substr(0, 300)];
                return 0;
            });
        }
        for (const auto& [why, n] : reasons)
            std::printf("   %6d × %s\n", n, why.c_str());
    }

    CpuSample sample_cpu() const {
        CpuSample s;
        s.at = std::chrono::steady_clock::now();
        s.self = self_cpu_seconds();
        s.machine = machine_busy_seconds();
        if (o_.server_pid) s.server = proc_cpu_seconds(o_.server_pid);
        if (floor_) {
            s.server = floor_->cpu_seconds();
            s.self -= s.server; // the floor server runs inside this process
        }
        s.postgres = postgres_cpu(o_.pg_data_dir);
        return s;
    }

    int run_idle(long rss_before, long rss_connected) {
        std::printf("   holding %d idle joined clients for %.0f s\n", joined_, o_.hold_s);
        std::fflush(stdout);
        auto c0 = sample_cpu();
        std::this_thread::sleep_for(std::chrono::duration<double>(o_.hold_s));
        auto c1 = sample_cpu();
        const long rss_after = o_.server_pid ? proc_rss_kb(o_.server_pid) : -1;
        const int still = joined_ - sum(&Worker::closed);
        const double wall = std::chrono::duration<double>(c1.at - c0.at).count();
        if (rss_before > 0) {
            const double per_conn = double(rss_after - rss_before) * 1024.0 / double(still);
            const double per_conn_upgrade =
                double(rss_connected - rss_before) * 1024.0 / double(sum(&Worker::connected));
            std::printf("   walcast RSS: before %ld KiB, %d upgraded sockets %ld KiB, %d joined "
                        "%ld KiB\n",
                        rss_before, sum(&Worker::connected), rss_connected, still, rss_after);
            std::printf("   per idle joined connection: %.0f bytes (%.2f KiB); per upgraded "
                        "socket before join: %.0f bytes\n",
                        per_conn, per_conn / 1024.0, per_conn_upgrade);
            std::printf("   idle CPU over %.0f s: walcast %.1f %%, loadgen %.1f %%\n", wall,
                        100 * (c1.server - c0.server) / wall, 100 * (c1.self - c0.self) / wall);
            std::printf("RESULT {\"label\":\"%s\",\"mode\":\"idle\",\"clients\":%d,"
                        "\"joined\":%d,\"rss_before_kib\":%ld,\"rss_connected_kib\":%ld,"
                        "\"rss_after_kib\":%ld,\"bytes_per_connection\":%.0f,"
                        "\"bytes_per_upgraded_socket\":%.0f}\n",
                        o_.label.c_str(), o_.clients, still, rss_before, rss_connected, rss_after,
                        per_conn, per_conn_upgrade);
        } else {
            std::printf("   (no --server-pid: RSS not measured)\n");
        }
        std::fflush(stdout);
        return still == o_.clients ? 0 : 2;
    }

    // --presence: every joined client tracks once, at once; measured until every client's state
    // holds every key (as realtime-js' presenceState() would), and the presence messages the
    // clients received against the N × N diffs an uncoalesced server sends.
    int run_presence() {
        // Each join is followed by a presence_state (spec §7.2.3): wait for all of them.
        wait_for([&] { return presence_messages() >= std::uint64_t(joined_); }, 30);
        const std::uint64_t before = presence_messages();
        const auto c0 = sample_cpu();
        const std::int64_t t0 = realtime_us();
        for (auto& w : workers_)
            asio::post(w->io, [&w] {
                for (auto& c : w->clients)
                    c->send_track();
            });
        const bool full = wait_for([&] { return sum(&Worker::presence_full) >= joined_; },
                                   o_.presence_timeout_s, std::chrono::milliseconds(5));
        const double full_wall = double(realtime_us() - t0) / 1e6;
        // Late diffs still on their way to clients that were full already: until quiet.
        std::uint64_t last = presence_messages();
        auto quiet_since = std::chrono::steady_clock::now();
        while (seconds_since(quiet_since) < 1.0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            if (const auto now = presence_messages(); now != last) {
                last = now;
                quiet_since = std::chrono::steady_clock::now();
            }
        }
        const auto c1 = sample_cpu();
        LatencyHistogram full_at; // per client: first track sent → its state held every key
        std::uint64_t dup = 0, leaves = 0;
        int short_clients = 0, min_keys = o_.clients;
        for (auto& w : workers_)
            w->call([&] {
                for (auto& c : w->clients) {
                    if (c->state() != Client::State::Joined) continue;
                    if (c->presence_full_us())
                        full_at.record(c->presence_full_us() - t0);
                    else
                        ++short_clients;
                    min_keys = std::min(min_keys, c->presence_keys());
                }
                dup += w->presence_duplicate_joins;
                leaves += w->presence_leaves;
                return 0;
            });
        const std::uint64_t messages = last - before;
        const std::uint64_t uncoalesced = std::uint64_t(joined_) * std::uint64_t(joined_);
        const double wall = std::chrono::duration<double>(c1.at - c0.at).count();
        std::printf("   %d tracks at once: every state full after %s ms (p50 client %s ms, p99 "
                    "%s ms)%s\n",
                    joined_, fmt_ms(full_at.max()).c_str(), fmt_ms(full_at.quantile(0.5)).c_str(),
                    fmt_ms(full_at.quantile(0.99)).c_str(), full ? "" : " — TIMED OUT");
        std::printf("   presence messages received %" PRIu64 " vs %" PRIu64
                    " uncoalesced (one diff per track per member): %.4f of it, %.1f× fewer\n",
                    messages, uncoalesced, double(messages) / double(uncoalesced),
                    messages ? double(uncoalesced) / double(messages) : 0.0);
        std::printf("   CPU over %.1f s: walcast %.0f %%, load tool %.0f %%; clients short %d "
                    "(fewest keys %d), duplicate joins %" PRIu64 ", leaves %" PRIu64 "\n",
                    wall, c0.server >= 0 ? 100 * (c1.server - c0.server) / wall : -1.0,
                    100 * (c1.self - c0.self) / wall, short_clients, min_keys, dup, leaves);
        std::printf("RESULT {\"label\":\"%s\",\"mode\":\"presence\",\"clients\":%d,"
                    "\"full_ms\":%s,\"full_p50_ms\":%s,\"full_p99_ms\":%s,\"wall_s\":%.2f,"
                    "\"messages\":%" PRIu64 ",\"uncoalesced\":%" PRIu64
                    ",\"clients_short\":%d,\"duplicate_joins\":%" PRIu64 ",\"leaves\":%" PRIu64
                    ",\"cpu_walcast_pct\":%.1f,\"cpu_loadgen_pct\":%.1f}\n",
                    o_.label.c_str(), joined_, fmt_ms(full_at.max()).c_str(),
                    fmt_ms(full_at.quantile(0.5)).c_str(), fmt_ms(full_at.quantile(0.99)).c_str(),
                    full_wall, messages, uncoalesced, short_clients, dup, leaves,
                    c0.server >= 0 ? 100 * (c1.server - c0.server) / wall : -1.0,
                    100 * (c1.self - c0.self) / wall);
        std::fflush(stdout);
        return full && short_clients == 0 && leaves == 0 ? 0 : 2;
    }

    std::uint64_t presence_messages() const {
        std::uint64_t n = 0;
        for (const auto& w : workers_)
            n += w->presence_messages.load(std::memory_order_relaxed);
        return n;
    }

    int run_steps() {
        if (o_.broadcast) {
            // Each "change" is one broadcast from the sender socket, stamped as it is written.
            commit_ = [this](std::int64_t first, std::int64_t n) -> std::string {
                auto* c = sender_->clients[0].get();
                asio::post(sender_->io, [c, first, n] {
                    for (std::int64_t id = first; id < first + n; ++id)
                        c->send_broadcast(id);
                });
                return {};
            };
            return run_rates();
        }
        if (floor_) {
            commit_ = [this](std::int64_t first, std::int64_t n) {
                return floor_->publish(first, n);
            };
            return run_rates();
        }
        const std::string t = db_.quote_ident(o_.schema) + "." + db_.quote_ident(o_.table);
        const std::string insert =
            "INSERT INTO " + t +
            " (id, org, body) SELECT g, CASE WHEN $3::int <= 0 THEN 'bench' WHEN g % $3::int = 0 "
            "THEN 'hidden' ELSE 'bench' END, $4::text FROM generate_series($1::bigint, $2::bigint) "
            "g";
        {
            pg::PgResult r(PQprepare(db_.get(), "bench_insert", insert.c_str(), 4, nullptr));
            if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
                return fail("preparing the insert: " + pg::result_error(r.get()));
        }
        auto maxid = db_.exec("SELECT coalesce(max(id), 0) FROM " + t);
        if (!maxid) return fail(maxid.error().describe());
        next_id_ = maxid->integer<std::int64_t>(0, 0).value_or(0) + 1;
        const std::string body(std::size_t(std::max(0, o_.body_bytes)), 'x');
        const std::string hidden = std::to_string(o_.hidden_every);
        commit_ = [this, body, hidden](std::int64_t first, std::int64_t n) -> std::string {
            const std::string a = std::to_string(first);
            const std::string b = std::to_string(first + n - 1);
            const char* values[4] = {a.c_str(), b.c_str(), hidden.c_str(), body.c_str()};
            pg::PgResult res(
                PQexecPrepared(db_.get(), "bench_insert", 4, values, nullptr, nullptr, 0));
            if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return pg::result_error(res.get());
            return {};
        };
        return run_rates();
    }

    int run_rates() {

        // Warm-up: proves the path works end to end before anything is measured.
        if (o_.warmup_s > 0) {
            auto r = step(std::min(50.0, o_.rates.front()), o_.warmup_s, false);
            if (r != 0) return r;
        }
        std::printf("   %8s %8s %10s %10s %10s %8s %8s %8s %8s %8s %7s %6s %6s %6s %6s %8s\n",
                    "rate/s", "changes", "offered/s", "delivered", "deliv/s", "p50 ms", "p99 ms",
                    "p999 ms", "max ms", "missing", "dup+ooo", "load%", "srv%", "pg%", "other%",
                    "RSS MiB");
        int rc = 0;
        for (double rate : o_.rates)
            rc = std::max(rc, step(rate, o_.duration_s, true));
        return rc;
    }

    // One step: reset counters, produce `rate` changes/s for `seconds`, drain, report.
    int step(double rate, double seconds, bool report) {
        const auto count = std::int64_t(std::llround(rate * seconds));
        const std::int64_t first = next_id_;
        next_id_ += count;
        for (auto& w : workers_)
            w->call([&] {
                w->step_first_id = first;
                w->step_ids = count;
                w->stats = StepStats();
                w->last_receive_us = 0;
                w->delivered_total.store(0);
                for (auto& c : w->clients)
                    c->reset_step(std::size_t(count));
                return 0;
            });
        std::int64_t hidden = 0;
        if (o_.hidden_every > 0)
            hidden = (first + count - 1) / o_.hidden_every - (first - 1) / o_.hidden_every;
        const std::int64_t per_client = count - hidden;
        const std::uint64_t expected = std::uint64_t(per_client) * std::uint64_t(joined_);

        const auto c0 = sample_cpu();
        const std::int64_t start_us = realtime_us();
        ProduceResult pr = produce(commit_, first, count, rate, o_);
        if (!pr.error.empty()) return fail("committing changes: " + pr.error);

        // Drain: until everything expected arrived, nothing new came for drain_stall, or
        // the drain timeout.
        const auto drain_start = std::chrono::steady_clock::now();
        std::uint64_t last_total = 0;
        auto last_progress = std::chrono::steady_clock::now();
        for (;;) {
            std::uint64_t total = 0;
            for (auto& w : workers_)
                total += w->delivered_total.load(std::memory_order_relaxed);
            if (total >= expected) break;
            if (total != last_total) {
                last_total = total;
                last_progress = std::chrono::steady_clock::now();
            }
            if (std::chrono::steady_clock::now() - last_progress > drain_stall) break;
            if (seconds_since(drain_start) > o_.drain_timeout_s) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        const double drain_s = seconds_since(drain_start);
        const auto c1 = sample_cpu();
        const long rss = o_.server_pid ? proc_rss_kb(o_.server_pid) : -1;

        StepStats st;
        std::int64_t last_us = 0;
        std::uint64_t clients_short = 0, missing = 0;
        std::map<std::int64_t, std::uint64_t> missing_by_id; // id -> clients that lack it
        for (auto& w : workers_)
            w->call([&] {
                st.latency.merge(w->stats.latency);
                st.delivered += w->stats.delivered;
                st.duplicates += w->stats.duplicates;
                st.out_of_order += w->stats.out_of_order;
                st.unexpected += w->stats.unexpected;
                st.stray += w->stats.stray;
                st.error_rows += w->stats.error_rows;
                st.unparsed += w->stats.unparsed;
                st.bytes += w->stats.bytes;
                last_us = std::max(last_us, w->last_receive_us);
                for (auto& c : w->clients) {
                    if (c->state() != Client::State::Joined && c->state() != Client::State::Closed)
                        continue;
                    const std::uint64_t got = c->received();
                    // A leaked hidden row is counted in `got`; compare only visible rows.
                    if (got < std::uint64_t(per_client)) {
                        ++clients_short;
                        missing += std::uint64_t(per_client) - got;
                        for (std::int64_t off = 0; off < count; ++off) {
                            const std::int64_t id = first + off;
                            if (o_.hidden_every > 0 && id % o_.hidden_every == 0) continue;
                            if (!c->seen(off)) ++missing_by_id[id];
                        }
                    }
                }
                return 0;
            });
        if (!report) {
            if (st.delivered == 0)
                return fail("warm-up: no change reached any client in " +
                            std::to_string(o_.warmup_s) +
                            " s plus the drain; is the table in "
                            "the publication and the replication stream up (/healthz)?");
            return 0;
        }
        const double window_s = last_us > start_us ? double(last_us - start_us) / 1e6 : pr.seconds;
        const double deliv_per_s = double(st.delivered) / window_s;
        const double wall = std::chrono::duration<double>(c1.at - c0.at).count();
        const double cpu_self = 100 * (c1.self - c0.self) / wall;
        const double cpu_server = c0.server >= 0 ? 100 * (c1.server - c0.server) / wall : -1;
        const double cpu_pg =
            o_.pg_data_dir.empty() ? -1 : 100 * cpu_delta(c0.postgres, c1.postgres) / wall;
        const double offered = rate * double(joined_) * double(per_client) / double(count);
        // CPU of everything else on the machine (% of one core): other engineers' work.
        const double cpu_machine = 100 * (c1.machine - c0.machine) / wall;
        const double cpu_other =
            cpu_machine - cpu_self - std::max(0.0, cpu_server) - std::max(0.0, cpu_pg);
        // CPU time per delivered message does not depend on how busy the machine is: it is
        // the figure to project capacity from when other work competes for the cores.
        auto us_per_msg = [&](double cpu_s) {
            return st.delivered ? 1e6 * cpu_s / double(st.delivered) : 0.0;
        };
        std::printf("   %8.0f %8" PRId64 " %10.0f %10" PRIu64 " %10.0f %8s %8s %8s %8s %8" PRIu64
                    " %7" PRIu64 " %6.0f %6.0f %6.0f %6.0f %8.1f\n",
                    rate, count, offered, st.delivered, deliv_per_s,
                    fmt_ms(st.latency.quantile(0.50)).c_str(),
                    fmt_ms(st.latency.quantile(0.99)).c_str(),
                    fmt_ms(st.latency.quantile(0.999)).c_str(), fmt_ms(st.latency.max()).c_str(),
                    missing, st.duplicates + st.out_of_order, cpu_self, cpu_server, cpu_pg,
                    cpu_other, rss > 0 ? double(rss) / 1024.0 : -1.0);
        const double achieved_rate = double(pr.rows) / pr.seconds;
        std::printf("   CPU per delivered message: %s %.2f µs, load tool %.2f µs; Postgres "
                    "%.0f µs per change; the rest of the machine used %.0f %% of a core\n",
                    floor_ ? "floor server" : "walcast", us_per_msg(c1.server - c0.server),
                    us_per_msg(c1.self - c0.self),
                    1e6 * cpu_delta(c0.postgres, c1.postgres) /
                        double(std::max<std::int64_t>(1, pr.rows)),
                    cpu_other);
        if (achieved_rate < 0.95 * rate)
            std::printf(
                "   !! the producer reached only %.0f changes/s of %.0f (commit p99 %s ms): "
                "Postgres commit rate is the limit here\n",
                achieved_rate, rate, fmt_ms(pr.commit_us.quantile(0.99)).c_str());
        if (st.unexpected || st.stray || st.error_rows || st.unparsed || clients_short ||
            sum(&Worker::closed))
            std::printf("   !! leaked %" PRIu64 ", stray %" PRIu64 ", error rows %" PRIu64
                        ", unparsed %" PRIu64 ", clients short %" PRIu64 ", clients closed %d, "
                        "drain %.1f s\n",
                        st.unexpected, st.stray, st.error_rows, st.unparsed, clients_short,
                        sum(&Worker::closed), drain_s);
        if (sum(&Worker::closed)) print_failures();
        if (!missing_by_id.empty()) {
            std::printf("   !! %zu distinct ids missing (step ids %" PRId64 "..%" PRId64
                        "); first:",
                        missing_by_id.size(), first, first + count - 1);
            int shown = 0;
            for (const auto& [id, n] : missing_by_id) {
                if (shown++ == 12) break;
                std::printf(" %" PRId64 "(%" PRIu64 " clients)", id, n);
            }
            std::printf("\n");
        }
        std::printf(
            "RESULT {\"label\":\"%s\",\"mode\":\"%s\",\"clients\":%d,"
            "\"identities\":%d,\"rls\":%s,\"rate\":%.0f,\"seconds\":%.1f,"
            "\"changes\":%" PRId64 ",\"transactions\":%" PRId64 ",\"producer_rate\":%.0f,"
            "\"offered_per_s\":%.0f,\"delivered\":%" PRIu64 ",\"expected\":%" PRIu64
            ",\"delivered_per_s\":%.0f,\"window_s\":%.2f,\"drain_s\":%.2f,"
            "\"p50_ms\":%s,\"p99_ms\":%s,\"p999_ms\":%s,\"max_ms\":%s,\"mean_ms\":%.2f,"
            "\"missing\":%" PRIu64 ",\"clients_short\":%" PRIu64 ",\"duplicates\":%" PRIu64
            ",\"out_of_order\":%" PRIu64 ",\"leaked\":%" PRIu64 ",\"error_rows\":%" PRIu64
            ",\"clients_closed\":%d,\"cpu_loadgen_pct\":%.1f,\"cpu_walcast_pct\":%.1f,"
            "\"cpu_postgres_pct\":%.1f,\"cpu_other_pct\":%.1f,\"walcast_rss_kib\":%ld,"
            "\"commit_p99_ms\":%s,\"walcast_cpu_us_per_msg\":%.2f,"
            "\"loadgen_cpu_us_per_msg\":%.2f,\"postgres_cpu_us_per_change\":%.1f,"
            "\"message_bytes\":%.0f}\n",
            o_.label.c_str(), o_.broadcast ? "broadcast" : "stream", o_.clients, o_.identities,
            o_.rls ? "true" : "false", rate, pr.seconds, count, pr.transactions, achieved_rate,
            offered, st.delivered, expected, deliv_per_s, window_s, drain_s,
            fmt_ms(st.latency.quantile(0.50)).c_str(), fmt_ms(st.latency.quantile(0.99)).c_str(),
            fmt_ms(st.latency.quantile(0.999)).c_str(), fmt_ms(st.latency.max()).c_str(),
            st.latency.mean() / 1000.0, missing, clients_short, st.duplicates, st.out_of_order,
            st.unexpected, st.error_rows, sum(&Worker::closed), cpu_self, cpu_server, cpu_pg,
            cpu_other, rss, fmt_ms(pr.commit_us.quantile(0.99)).c_str(),
            us_per_msg(c1.server - c0.server), us_per_msg(c1.self - c0.self),
            1e6 * cpu_delta(c0.postgres, c1.postgres) / double(std::max<std::int64_t>(1, pr.rows)),
            st.delivered ? double(st.bytes) / double(st.delivered) : 0.0);
        std::fflush(stdout);
        const bool correct = missing == 0 && st.duplicates == 0 && st.out_of_order == 0 &&
                             st.unexpected == 0 && st.error_rows == 0;
        return correct ? 0 : 2;
    }

    Options o_;
    std::unique_ptr<FloorServer> floor_;
    std::unique_ptr<Worker> sender_; ///< --broadcast: the sending client, on its own thread
    CommitFn commit_;
    pg::Connection db_;
    std::vector<std::string> tokens_;
    std::vector<std::unique_ptr<Worker>> workers_;
    int joined_ = 0;
    std::int64_t next_id_ = 1;
};

} // namespace walcast::bench

int main(int argc, char** argv) {
    using walcast::bench::Options;
    Options o;
    CLI::App app{"walcast load tool: WebSocket clients on postgres_changes, changes committed at "
                 "set rates, latency and delivery measured"};
    app.add_option("--url", o.url, "walcast socket URL (ws://host:port/socket)")
        ->capture_default_str();
    app.add_option("--db", o.db, "libpq URL of the database walcast replicates from")
        ->envname("BENCH_DB");
    app.add_option("--jwt-secret", o.jwt_secret, "walcast's JWT_SECRET (HS256 tokens are minted)")
        ->envname("JWT_SECRET");
    app.add_option("--schema", o.schema)->capture_default_str();
    app.add_option("--table", o.table)->capture_default_str();
    app.add_option("--filter", o.filter,
                   "postgres_changes filter of every binding (e.g. org=eq.bench)");
    app.add_option("--clients", o.clients)->capture_default_str()->check(CLI::Range(1, 1'000'000));
    app.add_option("--identities", o.identities,
                   "distinct JWT identities (sub), clients round-robin")
        ->capture_default_str();
    app.add_flag("--rls", o.rls, "--setup enables RLS with a policy on the org claim");
    app.add_option("--hidden-every", o.hidden_every,
                   "every Nth row gets org 'hidden' (RLS hides it; arriving = a leak); 0 = none")
        ->capture_default_str();
    app.add_flag("--setup", o.setup, "create the table (idempotent), grants, policy, publication");
    app.add_option("--rates", o.rates, "changes/s, one step each")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--duration", o.duration_s, "seconds per step")->capture_default_str();
    app.add_option("--warmup", o.warmup_s, "seconds of unmeasured changes first; 0 = none")
        ->capture_default_str();
    app.add_option("--drain-timeout", o.drain_timeout_s, "longest wait for late rows after a step")
        ->capture_default_str();
    app.add_option("--body-bytes", o.body_bytes, "size of the text column of each row")
        ->capture_default_str();
    app.add_option("--max-rows-per-txn", o.max_rows_per_txn,
                   "rows per INSERT when the producer falls behind its schedule")
        ->capture_default_str();
    app.add_option("--threads", o.threads, "load tool I/O threads")->capture_default_str();
    app.add_option("--connect-parallel", o.connect_parallel, "handshakes in flight")
        ->capture_default_str();
    app.add_option("--join-parallel", o.join_parallel, "joins in flight")->capture_default_str();
    app.add_flag("--idle", o.idle, "join, then hold idle and report walcast RSS per connection");
    app.add_option("--hold", o.hold_s, "seconds to hold idle clients")->capture_default_str();
    app.add_option("--server-pid", o.server_pid, "walcast's pid (CPU and RSS from /proc)");
    app.add_option("--pg-data-dir", o.pg_data_dir,
                   "Postgres data directory (CPU of its processes)");
    app.add_option("--label", o.label, "name printed with the results");
    app.add_flag("--floor", o.floor,
                 "no walcast, no Postgres: an in-process sender that only writes ready frames "
                 "(the machine's floor for latency and CPU per message)");
    app.add_option("--floor-threads", o.floor_threads, "sender threads of --floor")
        ->capture_default_str();
    app.add_flag("--broadcast", o.broadcast,
                 "Broadcast instead of Postgres Changes: every client joins one topic, one more "
                 "socket sends --rates broadcasts/s (V2 binary), send → receive timed; no --db");
    app.add_flag("--presence", o.presence,
                 "every client joins one presence topic, then all track at once: time until every "
                 "client's state holds all keys, messages vs the uncoalesced count; no --db");
    app.add_option("--presence-timeout", o.presence_timeout_s,
                   "longest wait for every presence state to be full")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    walcast::bench::LoadGen gen(std::move(o));
    return gen.run();
}
