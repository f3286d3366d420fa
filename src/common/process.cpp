#include "common/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace walcast {

std::optional<RunAs> lookup_user(const std::string& name) {
    struct passwd pw {};
    struct passwd* out = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &out) != 0 || out == nullptr)
        return std::nullopt;
    return RunAs{pw.pw_uid, pw.pw_gid, name};
}

std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    if (!path) return {};
    std::string p(path);
    std::size_t start = 0;
    while (start <= p.size()) {
        auto end = p.find(':', start);
        if (end == std::string::npos) end = p.size();
        std::filesystem::path candidate =
            std::filesystem::path(p.substr(start, end - start)) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    return {};
}

namespace {

std::string tail_lines(const std::string& s, int lines) {
    std::size_t pos = s.size();
    while (lines-- > 0 && pos > 0) {
        auto nl = s.rfind('\n', pos - 1);
        if (nl == std::string::npos) return s;
        pos = nl;
    }
    return s.substr(pos == 0 ? 0 : pos + 1);
}

} // namespace

Result<std::string> run_program(const std::vector<std::string>& argv, const RunOptions& opts) {
    if (argv.empty()) return make_error(Errc::Internal, "run_program: empty argv");
    int pipefd[2] = {-1, -1};
    if (opts.output_file.empty() && ::pipe2(pipefd, O_CLOEXEC) != 0)
        return make_error(Errc::Internal, std::string("pipe: ") + std::strerror(errno));

    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // The environment is built before fork: the child of a multi-threaded parent may only
    // make async-signal-safe calls.
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e)
        env_storage.emplace_back(*e);
    for (const auto& e : opts.env)
        env_storage.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_storage)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) return make_error(Errc::Internal, std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Child: only async-signal-safe calls from here on. The parent may block SIGINT/SIGTERM
        // (serve waits for them with sigwait); programs start with an empty mask.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int out = -1;
        if (!opts.output_file.empty()) {
            out = ::open(opts.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        } else {
            out = pipefd[1];
        }
        if (out < 0) _exit(126);
        ::dup2(out, 1);
        ::dup2(out, 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        if (opts.user) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(opts.user->gid) != 0 ||
                ::setuid(opts.user->uid) != 0)
                _exit(125);
        }
        if (!opts.working_dir.empty() && ::chdir(opts.working_dir.c_str()) != 0) _exit(124);
        ::execve(args[0], args.data(), envp.data());
        _exit(127);
    }

    std::string output;
    if (pipefd[1] >= 0) {
        ::close(pipefd[1]);
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(pipefd[0], buf, sizeof buf);
            if (n > 0) {
                output.append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                break;
            }
        }
        ::close(pipefd[0]);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;

    const std::string& what = argv[0];
    std::string how = WIFEXITED(status)
                          ? "exited with status " + std::to_string(WEXITSTATUS(status))
                          : "was killed by signal " + std::to_string(WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) how += " (could not execute it)";
    if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
        how += " (could not switch to user " + (opts.user ? opts.user->name : "") + ")";
    std::string detail = output.empty() ? "" : ": " + tail_lines(output, 5);
    if (!opts.output_file.empty()) detail = " (see " + opts.output_file + ")";
    return make_error(Errc::Unavailable, what + " " + how + detail);
}

} // namespace walcast
