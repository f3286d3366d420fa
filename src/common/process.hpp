// Running child programs (initdb, pg_ctl, psql): fork/exec with argument vectors (no shell),
// optionally as another user, with output captured to a file or returned as a string.
#pragma once

#include "common/result.hpp"

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace walcast {

/// A user to run a child program as (used when walcast runs as root: Postgres refuses root).
struct RunAs {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

/// Looks up a user by name; nullopt when it does not exist.
std::optional<RunAs> lookup_user(const std::string& name);

/// Options of run_program.
struct RunOptions {
    std::optional<RunAs> user;    ///< switch to this user in the child
    std::string output_file;      ///< append stdout+stderr here; empty = capture into result
    std::string working_dir;      ///< chdir in the child; empty = inherit
    std::vector<std::string> env; ///< extra "NAME=value" entries
};

/// Runs argv[0] (a path) with argv and waits. Returns the captured output (empty when
/// output_file is set). Errors: the program could not start, or exited non-zero (message
/// includes the exit status and the last lines of output).
Result<std::string> run_program(const std::vector<std::string>& argv,
                                const RunOptions& options = {});

/// Finds an executable by name on PATH; empty when absent.
std::string find_on_path(const std::string& name);

} // namespace walcast
