#include "server/descriptor_limit.hpp"

#include <sys/resource.h>

namespace walcast::server {

OpenFilesLimit raise_open_files_limit() {
    OpenFilesLimit r;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return r;
    r.before = r.soft = lim.rlim_cur;
    r.hard = lim.rlim_max;
    if (lim.rlim_cur < lim.rlim_max) {
        rlimit raised = lim;
        raised.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) r.soft = raised.rlim_cur;
    }
    return r;
}

} // namespace walcast::server
