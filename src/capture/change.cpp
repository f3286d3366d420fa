#include "capture/change.hpp"

namespace walcast::capture {

const char* to_string(ChangeKind kind) {
    switch (kind) {
    case ChangeKind::Insert:
        return "INSERT";
    case ChangeKind::Update:
        return "UPDATE";
    case ChangeKind::Delete:
        return "DELETE";
    case ChangeKind::Truncate:
        return "TRUNCATE";
    }
    return "UNKNOWN";
}

} // namespace walcast::capture
