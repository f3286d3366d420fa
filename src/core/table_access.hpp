// TableAccess: what a role may read of a table — SELECT-able columns (table and column
// privileges), whether row-level security applies to it, and the primary key used to check
// rows — cached per (role, table) and dropped when grants, roles or RLS switches change.
#pragma once

#include "capture/change.hpp"
#include "capture/change_json.hpp"
#include "common/result.hpp"
#include "pg/connection.hpp"

#include <memory>
#include <mutex>
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

/// Thread-safe cache. Each caller passes its own connection (libpq connections are per thread).
class AccessCache {
public:
    /// The role's access to table oid. Errors: the catalog query failed.
    Result<TableAccessPtr> access(const pg::Connection& conn, const std::string& role, pg::Oid oid);
    /// The table's primary key (empty columns when it has none).
    Result<PrimaryKeyPtr> primary_key(const pg::Connection& conn, pg::Oid oid);

    /// Compares a fingerprint of everything access() depends on (ACLs, column ACLs, RLS flags,
    /// owners, role attributes and memberships) with the last one seen and clears the cache when
    /// it changed. Returns true when it cleared. Call periodically (the service does every 2 s).
    Result<bool> refresh_if_changed(const pg::Connection& conn);

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
