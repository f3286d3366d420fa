// The prerequisites walcast needs on a database, checked one by one with the fix for each: the
// checklist `walcast db check` prints and `walcast db init` prints after its set-up.
#pragma once

#include "common/result.hpp"
#include "pg/connection.hpp"

#include <string>
#include <vector>

namespace walcast::pg {

/// One checklist line. A failed item (Fail) stops walcast from working; a warning (Warn) lets it
/// run but something will not be delivered (e.g. an empty publication).
struct CheckItem {
    enum class Outcome { Pass, Warn, Fail };
    Outcome outcome = Outcome::Pass;
    std::string name;   ///< what is checked, e.g. "wal_level is logical"
    std::string detail; ///< what was found, e.g. "wal_level = replica"
    std::string fix;    ///< the command(s) that fix it; empty when it passes
};

/// Checks, on conn's database as conn's user (read-only: no statement changes anything):
/// wal_level = logical; a free replication slot and WAL sender (max_replication_slots,
/// max_wal_senders); the REPLICATION attribute (or superuser); the roles anon, authenticated,
/// service_role exist and the user is a member of each (it checks rows as them with SET ROLE);
/// the auth.uid()/auth.role()/auth.jwt() helpers; the publication exists and has tables; and
/// every published table is readable (SELECT and schema USAGE) by at least one JWT role.
/// Errors: only a failed catalog query (the connection went away), with the server message.
Result<std::vector<CheckItem>> check_prerequisites(const Connection& conn,
                                                   const std::string& publication);

/// The checklist as text, one item a line ("  ok    …", "  WARN  …", "  FAIL  …") with the
/// detail and fix indented below failed and warned items.
std::string format_checklist(const std::vector<CheckItem>& items);

/// True when no item failed (warnings allowed).
bool checklist_passes(const std::vector<CheckItem>& items);

} // namespace walcast::pg
