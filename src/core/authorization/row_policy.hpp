// RowPolicy: the SELECT policies Postgres applies when a role reads a table, turned into one
// SQL predicate over a row of the table's type — and the statement that evaluates it, in
// Postgres, as the subscriber, over the row versions a change carries (values decoded from the
// WAL), never over the live table. See docs/architecture.md for why this form.
//
// Semantics follow PostgreSQL's src/backend/rewrite/rowsecurity.c and utils/misc/rls.c
// (summarised in docs/architecture.md, "Deciding a row version"): RLS applies unless the table
// has it off, or the role is a superuser, has BYPASSRLS, or has the privileges of the table
// owner without FORCE ROW LEVEL SECURITY; the policies considered are those for SELECT or ALL
// whose role list is PUBLIC or names a role whose privileges the subscriber's role has
// (pg_has_role … 'USAGE' = has_privs_of_role); permissive USING clauses are OR-ed, restrictive
// ones AND-ed, and without a permissive policy with a USING clause no row is visible.
// Restrictive clauses are evaluated first, in policy-name order, then the OR of the permissive
// ones (reverse name order), each only if the previous ones held — the order of Postgres's
// security quals (within one clause Postgres's planner may reorder by cost; see the docs).
#pragma once

#include "capture/change.hpp"
#include "common/result.hpp"
#include "pg/connection.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace walcast::core {

/// How row-level security filters one role's SELECT on one table.
enum class RowSecurity : std::uint8_t {
    Off,      ///< RLS disabled on the table, or the role bypasses it: every row is visible
    DenyAll,  ///< RLS applies and no permissive policy with a USING clause applies: none is
    Policies, ///< RLS applies: RowPolicy::predicate decides
};

/// One attribute of the table's row type (attnum order, dropped columns excluded).
struct RowTypeColumn {
    std::string name;
    bool needed = false; ///< read by an applied policy (pg_depend), or every column when a
                         ///< policy uses the whole row
    bool domain = false; ///< a domain type: always bound, because domain input runs on NULL
};

/// The SELECT policies of one table for one role, as of the catalog when it was built.
/// Immutable; shared by every worker through PolicyCache.
struct RowPolicy {
    pg::Oid table = 0;
    std::string role;
    RowSecurity mode = RowSecurity::Off;
    std::string qualified_name; ///< "schema.table" for logs
    std::string type_name;      ///< the row type as SQL: "schema"."table"
    std::string alias;          ///< the quoted table name policy expressions refer to the row by
    std::vector<RowTypeColumn> columns;
    bool whole_row = false; ///< a policy reads the whole row (table.*): the statement must bind
                            ///< rows of the table's own type
    std::string predicate;  ///< boolean SQL over the row (mode Policies)
    /// The SELECT evaluating predicate over the rows of the <type_name>[] parameter $1,
    /// returning the 1-based positions of the visible ones (mode Policies).
    std::string statement;
    /// An applied policy may read other tables: it uses a subquery over another relation, or a
    /// function or operator that is not built in (the claim helpers auth.uid(), auth.role() and
    /// auth.jwt() excepted when they are plain SQL functions without FROM). Its check must then
    /// see the database as of the change's commit (PolicyChecker waits until the change's
    /// transaction is visible).
    bool reads_database = false;
    std::vector<std::string> policies; ///< names of the applied policies, for logs
    std::string fingerprint;           ///< catalog state of the table it was built from
    /// column_names_hash() of a relation whose changes lack a column this policy reads although
    /// the policy was built after that relation (a generated column, one outside the
    /// publication's column list): for it, rebuilding would not help. 0 = none seen.
    mutable std::atomic<std::uint64_t> absent_for{0};
    std::string roles_fingerprint; ///< catalog state of roles and memberships
};
using RowPolicyPtr = std::shared_ptr<const RowPolicy>;

/// A version of a row to decide: the new tuple of an INSERT/UPDATE, or the old tuple of a
/// DELETE/UPDATE under REPLICA IDENTITY FULL. Pointers are borrowed from the change.
struct RowVersion {
    const capture::Relation* relation = nullptr;
    const pg::Tuple* values = nullptr;
    /// Where an unchanged TOAST value ('u') of `values` can be read: the full old tuple of the
    /// same UPDATE (the value did not change). Null when there is none.
    const pg::Tuple* unchanged_from = nullptr;
    /// The transaction of the change (its xid): policies that read other tables are checked
    /// only once it is visible. Null when the caller knows it is visible.
    const capture::TransactionInfo* txn = nullptr;
};

/// What a check decided for one row version.
enum class RowVerdict : std::uint8_t {
    Failed,  ///< could not be decided (a policy raised, a needed value was missing, timeout)
    Hidden,  ///< the role may not see this version
    Visible, ///< the role may see this version
};

/// The statement building the RowPolicy of `role` on `table`. Run as walcast's own user with
/// the session's search_path — the context the policy statement is later prepared in — it
/// decides bypass, ownership and role membership for `role` as Postgres does, and pg_get_expr()
/// qualifies names as that preparation will resolve them. Returns no row when the table or
/// the role does not exist, else one column: a JSON object read by parse_row_policy().
std::string row_policy_query(const pg::Connection& conn, const std::string& role, pg::Oid table);

/// Builds the RowPolicy from row_policy_query()'s result text (nullopt: no row). Errors: the
/// table or role no longer exists (NotFound), malformed result (Internal).
Result<RowPolicyPtr> parse_row_policy(std::optional<std::string_view> json, const std::string& role,
                                      pg::Oid table);

/// The statement returning, per table oid in the oid[] parameter $1, the table's catalog
/// fingerprint (oid, fingerprint), plus one row (0, roles fingerprint): compared with the
/// fingerprints a RowPolicy was built from, it tells whether the policy is still current.
std::string fingerprint_statement();

/// Row versions bound for one RowPolicy statement.
struct PolicyRows {
    std::string array;             ///< array literal text of the rows ({"(…)","(…)"}), unquoted
    std::vector<std::size_t> rows; ///< indices into the versions, in array order; the statement
                                   ///< returns the 1-based positions of the visible ones
    /// A column the policies read (or a domain column) is not in a version's relation at all:
    /// renamed or dropped since the policy was built, generated, or outside the publication's
    /// column list.
    bool absent_column = false;
};

/// Binds `versions` (all of policy.table) for `policy`'s statement, and sets verdicts[i] for
/// what needs no statement: Visible (mode Off), Hidden (DenyAll), Failed when a value the
/// policies read is not in the change (an unchanged TOAST value without a full old tuple, a
/// generated column, a column outside the publication's column list) — then missing[i] names
/// the column. Rows in `rows` are left Failed for the caller to decide. verdicts and missing
/// get versions.size() entries.
PolicyRows bind_policy_rows(const RowPolicy& policy, std::span<const RowVersion> versions,
                            std::vector<RowVerdict>& verdicts, std::vector<std::string>& missing);

/// A hash of a relation's column names in order (FNV-1a), never 0.
std::uint64_t column_names_hash(const capture::Relation& relation);

/// The text of one row of a composite type (record_in syntax): "(v1,,\"v 3\")" with NULL as an
/// empty field and every other value quoted. Exposed for tests.
void append_record_literal(std::string& out, std::span<const std::optional<std::string_view>> v);

} // namespace walcast::core
