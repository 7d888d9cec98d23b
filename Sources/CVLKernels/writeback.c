// Linux file calls the Swift Glibc module does not expose (they need _GNU_SOURCE): page-cache
// write-back control for streaming writers, and O_TMPFILE for AtomicFile's unnamed temporaries.
#define _GNU_SOURCE
#include "vl_kernels.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int vl_start_writeback(int fd, int64_t offset, int64_t count) {
#if defined(__linux__)
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)offset; (void)count;
    return fdatasync(fd);
#endif
}

int vl_wait_writeback(int fd, int64_t offset, int64_t count) {
#if defined(__linux__)
    return sync_file_range(fd, offset, count,
                           SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
#else
    (void)offset; (void)count;
    return fdatasync(fd);
#endif
}

int vl_open_tmpfile(const char *folder, unsigned mode) {
#if defined(__linux__) && defined(O_TMPFILE)
    return open(folder, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
#else
    (void)folder; (void)mode;
    errno = EOPNOTSUPP;
    return -1;
#endif
}
