#include "pg/closed_by_server.hpp"

#include <libpq-fe.h>

#include <poll.h>

namespace walcast::pg {

bool closed_by_server(Connection& conn, std::string& why) {
    PGconn* c = conn.get();
    if (!c) return false;
    if (PQstatus(c) == CONNECTION_OK) {
        pollfd p{PQsocket(c), POLLIN, 0};
        if (p.fd < 0 || ::poll(&p, 1, 0) <= 0) return false;
        if (PQconsumeInput(c) == 1 && PQstatus(c) == CONNECTION_OK) {
            while (PGnotify* n = PQnotifies(c))
                PQfreemem(n);
            return false;
        }
    }
    why = PQerrorMessage(c);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
        why.pop_back();
    if (why.empty()) why = "the connection was closed";
    return true;
}

} // namespace walcast::pg
