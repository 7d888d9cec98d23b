// Named temporary outputs to remove if the process is interrupted (SIGINT, SIGTERM, SIGHUP), so an
// interrupted conversion leaves no partial file. AtomicFile registers only names it made visible: the
// fallback's named temporary, or the unique link between linkat and rename (an unnamed O_TMPFILE
// needs no cleanup: the kernel frees it with the last descriptor). SIGKILL runs no handler; the next
// AtomicFile in the folder removes what a dead process left (AtomicFile+Temporaries.swift).
// The handler only calls async-signal-safe unlink().
#include "vl_kernels.h"
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VL_MAX_TEMP_FILES 32
/* Atomic slots: outputs of concurrent writers (threads) register and unregister at once. With plain
 * stores two threads could claim the same slot (one path then never removed; ThreadSanitizer
 * reported the race between two commits). Lock-free atomics stay usable from the signal handler.
 * A slot is freed only by the writer that registered it. */
static _Atomic(char *) temp_paths[VL_MAX_TEMP_FILES];

void vl_cleanup_remove_registered(void) {
    for (int i = 0; i < VL_MAX_TEMP_FILES; i++) {
        char *p = atomic_load(&temp_paths[i]);
        if (p) unlink(p);
    }
}

static void remove_temps_and_reraise(int sig) {
    vl_cleanup_remove_registered();
    signal(sig, SIG_DFL);
    raise(sig);
}

int vl_cleanup_register(const char *path) {
    char *copy = strdup(path);
    if (!copy) return -1;
    for (int i = 0; i < VL_MAX_TEMP_FILES; i++) {
        char *empty = NULL;
        if (atomic_compare_exchange_strong(&temp_paths[i], &empty, copy)) return i;
    }
    free(copy);
    return -1;
}

/* By slot, not by name: comparing names would read other writers' strings while they free them. */
void vl_cleanup_unregister(int slot) {
    if (slot < 0 || slot >= VL_MAX_TEMP_FILES) return;
    free(atomic_exchange(&temp_paths[slot], NULL));
}

void vl_cleanup_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_temps_and_reraise;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}
