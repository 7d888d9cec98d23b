// Turning SIGBUS from a shrunken mapped file into an error.
//
// A file mapped with mmap that another process truncates raises SIGBUS on the next touch of a page
// past the new end. Two layers handle it:
//  1. vl_guarded_copy copies under sigsetjmp with a thread-local jump buffer; the handler jumps back
//     and the copy returns -1, so Swift can throw an error naming the file. The jump only ever
//     unwinds C frames (this file's memcpy), never Swift ones.
//  2. A fault anywhere else inside a registered mapping (a parser or model reading in place) prints
//     one line naming the file, unlinks the registered temporaries (cleanup.c) and exits 1.
// A fault outside every registered mapping is a bug: the default action is restored and the
// faulting instruction re-runs, so it still dumps core as before.
#include "vl_kernels.h"
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define VL_MAX_MAPPINGS 256
#define VL_MAPPING_PATH 1024

struct mapping {
    _Atomic(uintptr_t) base;  // 0 = free slot; written last, so a reader sees a complete slot
    size_t length;
    char path[VL_MAPPING_PATH];
};
static struct mapping mappings[VL_MAX_MAPPINGS];
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local sigjmp_buf *volatile active_jump;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static const struct mapping *find_mapping(uintptr_t address) {
    for (int i = 0; i < VL_MAX_MAPPINGS; i++) {
        uintptr_t base = atomic_load_explicit(&mappings[i].base, memory_order_acquire);
        if (base && address >= base && address - base < mappings[i].length) return &mappings[i];
    }
    return NULL;
}

static void write_all(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t k = write(STDERR_FILENO, s, n);
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    (void)context;
    const struct mapping *m = find_mapping((uintptr_t)info->si_addr);
    if (m && active_jump) siglongjmp(*active_jump, 1);
    if (!m) {
        signal(sig, SIG_DFL);  // not ours: let the fault happen again and crash as it always did
        return;
    }
    // Only async-signal-safe calls from here on (write, unlink, _exit).
    // The same line the CLI prints for FileError.changedWhileMapped.
    write_all("vlpack: error: changedWhileMapped: ");
    write_all(m->path);
    write_all(" shrank while it was being read (another process truncated or rewrote it)\n");
    vl_cleanup_remove_registered();
    _exit(1);
}

static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

void vl_mapguard_install(void) { pthread_once(&install_once, install); }

int vl_mapguard_register(const void *base, size_t length, const char *path) {
    vl_mapguard_install();
    int result = -1;
    pthread_mutex_lock(&mappings_lock);
    for (int i = 0; i < VL_MAX_MAPPINGS; i++) {
        if (atomic_load_explicit(&mappings[i].base, memory_order_relaxed) == 0) {
            mappings[i].length = length;
            strncpy(mappings[i].path, path, VL_MAPPING_PATH - 1);
            mappings[i].path[VL_MAPPING_PATH - 1] = 0;
            atomic_store_explicit(&mappings[i].base, (uintptr_t)base, memory_order_release);
            result = 0;
            break;
        }
    }
    pthread_mutex_unlock(&mappings_lock);
    return result;
}

void vl_mapguard_unregister(const void *base) {
    pthread_mutex_lock(&mappings_lock);
    for (int i = 0; i < VL_MAX_MAPPINGS; i++) {
        if (atomic_load_explicit(&mappings[i].base, memory_order_relaxed) == (uintptr_t)base) {
            atomic_store_explicit(&mappings[i].base, 0, memory_order_release);
            break;
        }
    }
    pthread_mutex_unlock(&mappings_lock);
}

int vl_guarded_copy(void *dst, const void *src, size_t count) {
    vl_mapguard_install();
    sigjmp_buf jump;
    // savemask = 1: the jump restores the signal mask, so SIGBUS is not left blocked.
    if (sigsetjmp(jump, 1) != 0) {
        active_jump = NULL;
        errno = EFAULT;
        return -1;
    }
    active_jump = &jump;
    memcpy(dst, src, count);
    active_jump = NULL;
    return 0;
}
