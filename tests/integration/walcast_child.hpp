// A `walcast` child process for the integration tests that run the real binary (tail, serve):
// stdout and stderr on pipes, read with deadlines, killed at the end of the test.
#pragma once

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace walcast::testing {

using namespace std::chrono_literals;

// A running `walcast` child with its stdout and stderr on pipes.
class Child {
public:
    Child(const std::vector<std::string>& args, const std::vector<std::string>& env_extra = {}) {
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) std::abort();
        // The child's configuration comes only from its arguments and env_extra.
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) {
            std::string v(*e);
            bool config = v.rfind("DATABASE_URL=", 0) == 0 || v.rfind("DB_", 0) == 0 ||
                          v.rfind("SLOT_NAME=", 0) == 0 || v.rfind("PUBLICATION=", 0) == 0;
            if (!config) env.push_back(v);
        }
        env.insert(env.end(), env_extra.begin(), env_extra.end());
        std::vector<std::string> argv{WALCAST_BIN};
        argv.insert(argv.end(), args.begin(), args.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            ::dup2(err[1], 2);
            std::vector<char*> a, e;
            for (auto& s : argv)
                a.push_back(s.data());
            a.push_back(nullptr);
            for (auto& s : env)
                e.push_back(s.data());
            e.push_back(nullptr);
            ::execve(a[0], a.data(), e.data());
            ::_exit(127);
        }
        ::close(out[1]);
        ::close(err[1]);
        out_ = out[0];
        err_ = err[0];
    }
    ~Child() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_);
        ::close(err_);
    }

    /// Next stdout line, or nullopt at the deadline / end of output.
    std::optional<std::string> line(std::chrono::milliseconds deadline = 20s) {
        auto until = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            auto nl = out_buf_.find('\n');
            if (nl != std::string::npos) {
                std::string l = out_buf_.substr(0, nl);
                out_buf_.erase(0, nl + 1);
                return l;
            }
            if (!pump(until)) return std::nullopt;
        }
    }
    /// Waits until stderr contains text.
    bool stderr_contains(const std::string& text, std::chrono::milliseconds deadline = 20s) {
        auto until = std::chrono::steady_clock::now() + deadline;
        while (err_buf_.find(text) == std::string::npos)
            if (!pump(until)) return false;
        return true;
    }
    /// Exit status (or 128 + signal), or -1 if it did not exit in time.
    int wait_exit(std::chrono::milliseconds deadline = 20s) {
        auto until = std::chrono::steady_clock::now() + deadline;
        while (!exited_) {
            int status = 0;
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exited_ = true;
                code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (std::chrono::steady_clock::now() >= until) return -1;
            pump(std::min(until, std::chrono::steady_clock::now() + 20ms));
        }
        while (pump(std::chrono::steady_clock::now() + 50ms)) {
        }
        return code_;
    }
    void signal(int sig) { ::kill(pid_, sig); }
    const std::string& err() const { return err_buf_; }
    const std::string& out() const { return out_buf_; }

private:
    // Reads what is available from both pipes; false at the deadline or when both are closed.
    bool pump(std::chrono::steady_clock::time_point until) {
        auto now = std::chrono::steady_clock::now();
        if (now >= until || (out_eof_ && err_eof_)) return false;
        pollfd fds[2] = {{out_eof_ ? -1 : out_, POLLIN, 0}, {err_eof_ ? -1 : err_, POLLIN, 0}};
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
        if (::poll(fds, 2, static_cast<int>(ms) + 1) <= 0) return !(out_eof_ && err_eof_);
        char buf[65536];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
            ssize_t n = ::read(i == 0 ? out_ : err_, buf, sizeof buf);
            if (n <= 0)
                (i == 0 ? out_eof_ : err_eof_) = true;
            else
                (i == 0 ? out_buf_ : err_buf_).append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }

    pid_t pid_ = -1;
    int out_ = -1, err_ = -1;
    bool out_eof_ = false, err_eof_ = false, exited_ = false;
    int code_ = -1;
    std::string out_buf_, err_buf_;
};

} // namespace walcast::testing
