// TableAccess: what a role may read of a table — SELECT-able columns (table and column
// privileges), whether row-level security applies to it, and the primary key used to check
// rows — read through an AccessSource (the catalog; a fake in tests), cached per (role, table)
// and dropped when grants, roles or RLS switches change.
#pragma once

#include "capture/change.hpp"
#include "capture/change_json.hpp"
#include "common/result.hpp"
#include "pg/connection.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace walcast::core {

/// A role's access to one table, as of the catalog when it was loaded.
struct TableAccess {
    bool role_exists = false;
    /// has_column_privilege(role, t, col, 'SELECT'); none without USAGE on t's schema
    std::vector<std::string> readable_columns;
    bool rls = false;       ///< relrowsecurity and the role neither bypasses RLS nor owns the table
                            ///< (unless FORCE ROW LEVEL SECURITY): rows must be checked
    bool table_rls = false; ///< relrowsecurity, whoever reads (DELETE old_record reduction, §6.4)
    bool readable(std::string_view column) const {
        for (const auto& c : readable_columns)
            if (c == column) return true;
        return false;
    }
};
using TableAccessPtr = std::shared_ptr<const TableAccess>;

/// The primary key of a table in a form ready for row checks.
struct PrimaryKey {
    std::vector<std::string> columns; ///< names, in key order
    std::vector<std::string>
        type_names; ///< format_type() of each, e.g. "integer", "public.\"Color\""
};
using PrimaryKeyPtr = std::shared_ptr<const PrimaryKey>;

/// Where access facts come from. One caller thread at a time (each thread has its own).
class AccessSource {
public:
    virtual ~AccessSource() = default;
    /// The role's access to table oid as of now. Errors: the source could not be asked.
    virtual Result<TableAccess> read_access(const std::string& role, pg::Oid oid) = 0;
    /// The table's primary key (empty columns when it has none).
    virtual Result<PrimaryKey> read_primary_key(pg::Oid oid) = 0;
    /// A fingerprint of everything read_access() depends on (ACLs, column ACLs, RLS flags,
    /// owners, role attributes and memberships, primary keys): equal while nothing changed.
    virtual Result<std::string> read_fingerprint() = 0;
};

/// The catalog as AccessSource: over a borrowed connection, or over its own, connected on first
/// use and again after it broke.
class PgAccessSource final : public AccessSource {
public:
    /// Borrows conn (it must outlive this object; its thread only).
    explicit PgAccessSource(const pg::Connection& conn) : borrowed_(&conn) {}
    /// Owns a connection to params.
    explicit PgAccessSource(pg::ConnectParams params) : params_(std::move(params)) {}

    /// The connection, (re)connecting an owned one when needed; nullptr when that failed
    /// (logged). For other catalog questions on the same thread (late filter compilation).
    const pg::Connection* connection();

    Result<TableAccess> read_access(const std::string& role, pg::Oid oid) override;
    Result<PrimaryKey> read_primary_key(pg::Oid oid) override;
    Result<std::string> read_fingerprint() override;

private:
    Result<const pg::Connection*> usable();

    const pg::Connection* borrowed_ = nullptr;
    std::optional<pg::ConnectParams> params_;
    pg::Connection owned_;
};

/// Thread-safe cache. Each caller passes its own source (libpq connections are per thread).
class AccessCache {
public:
    /// The role's access to table oid. Errors: the source could not be asked.
    Result<TableAccessPtr> access(AccessSource& source, const std::string& role, pg::Oid oid);
    /// The table's primary key (empty columns when it has none).
    Result<PrimaryKeyPtr> primary_key(AccessSource& source, pg::Oid oid);

    /// Compares the source's fingerprint with the last one seen and clears the cache when it
    /// changed. Returns true when it cleared. Call periodically (the service does every 2 s).
    Result<bool> refresh_if_changed(AccessSource& source);

    void clear();

private:
    std::mutex mu_;
    std::unordered_map<std::string, TableAccessPtr> access_; ///< role '\0' oid
    std::unordered_map<pg::Oid, PrimaryKeyPtr> keys_;
    std::string fingerprint_;
};

/// Column mask (by index of rel's columns) of readable columns.
capture::ColumnMask readable_mask(const TableAccess& access, const capture::Relation& rel);

} // namespace walcast::core
