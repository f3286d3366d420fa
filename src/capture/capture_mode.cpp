#include "capture/capture_mode.hpp"

namespace walcast::capture {

Result<CaptureSupport> probe_capture(const pg::Connection& conn) {
    auto r = conn.exec("SELECT current_setting('wal_level'), "
                       "(SELECT rolreplication OR rolsuper FROM pg_roles "
                       " WHERE rolname = current_user), "
                       "to_regprocedure('walcast.version()') IS NOT NULL, current_user");
    if (!r) return std::move(r).error().to_error().context("checking the database for capture");
    CaptureSupport s;
    auto v = [&](int col) { return r->string(0, col); };
    s.wal_level = v(0);
    s.replication_role = v(1) == "t";
    s.trigger_installed = v(2) == "t";
    s.user = v(3);
    return s;
}

Result<CaptureChoice> choose_capture(const std::string& configured, const CaptureSupport& db) {
    if (configured == "logical") return CaptureChoice{"logical", "CAPTURE=logical"};
    if (configured == "trigger") return CaptureChoice{"trigger", "CAPTURE=trigger"};
    std::string missing;
    if (db.wal_level != "logical") missing = "wal_level is " + db.wal_level;
    if (!db.replication_role) {
        if (!missing.empty()) missing += " and ";
        missing += "role " + db.user + " lacks the REPLICATION attribute";
    }
    if (missing.empty())
        return CaptureChoice{"logical", "CAPTURE=auto: wal_level is logical and role " + db.user +
                                            " may replicate"};
    if (db.trigger_installed)
        return CaptureChoice{"trigger",
                             "CAPTURE=auto: " + missing + "; trigger capture is installed"};
    return make_error(Errc::Config,
                      "CAPTURE=auto: logical replication is not available (" + missing +
                          ") and trigger capture is not installed: run `walcast db init "
                          "--capture trigger`, or enable logical replication (ALTER SYSTEM SET "
                          "wal_level = logical and restart Postgres; ALTER ROLE " +
                          db.user + " WITH REPLICATION)");
}

} // namespace walcast::capture
