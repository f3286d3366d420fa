// PolicyRowChecker: the authorizer's RowChecker that decides the row versions a change carries
// by the subscriber's SELECT policies (PolicyChecker, evaluated in Postgres over the change's
// values), never by reading the live table: a row reassigned, shared then unshared, or deleted
// right after it was written is judged as it was committed (issue 10; docs/architecture.md,
// "Deciding a row version under row-level security").
#pragma once

#include "core/authorization/pg_row_checker.hpp"
#include "core/authorization/policy_checker.hpp"
#include "core/authorization/row_checker.hpp"
#include "pg/connection.hpp"

namespace walcast::core {

class PolicyRowChecker final : public RowChecker {
public:
    /// params: the database (connects on first use and again after a break, with a short
    /// backoff). checker: shared by every worker (its PolicyCache holds the built policies);
    /// each PolicyRowChecker owns its connection and the statements prepared on it.
    PolicyRowChecker(pg::ConnectParams params, PolicyChecker& checker, RowCheckMetrics& metrics);

    /// Decides every row; PolicyChecker narrows failures itself (identities alone, then rows
    /// one by one), so a round is Ok with Failed verdicts for the rows whose check raised, timed
    /// out, or lacked a value the policies read — or Unreachable when no connection can be made.
    Round check(std::span<RowCheckRequest*> requests) override;

private:
    bool connect();

    const pg::ConnectParams params_;
    PolicyChecker& checker_;
    RowCheckMetrics& metrics_;
    pg::Connection conn_;
    PolicySession session_;
};

} // namespace walcast::core
