// Named temporary outputs to remove if the process is interrupted (SIGINT, SIGTERM, SIGHUP), so an
// interrupted conversion leaves no partial file. AtomicFile registers only names it made visible: the
// fallback's named temporary, or the unique link between linkat and rename (an unnamed O_TMPFILE
// needs no cleanup: the kernel frees it with the last descriptor). SIGKILL runs no handler; the next
// AtomicFile in the folder removes what a dead process left (AtomicFile+Temporaries.swift).
// The handler only calls async-signal-safe unlink().
#include "vl_kernels.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VL_MAX_TEMP_FILES 32
static char *volatile temp_paths[VL_MAX_TEMP_FILES];

void vl_cleanup_remove_registered(void) {
    for (int i = 0; i < VL_MAX_TEMP_FILES; i++) {
        char *p = temp_paths[i];
        if (p) unlink(p);
    }
}

static void remove_temps_and_reraise(int sig) {
    vl_cleanup_remove_registered();
    signal(sig, SIG_DFL);
    raise(sig);
}

int vl_cleanup_register(const char *path) {
    for (int i = 0; i < VL_MAX_TEMP_FILES; i++) {
        if (!temp_paths[i]) {
            temp_paths[i] = strdup(path);
            return temp_paths[i] ? 0 : -1;
        }
    }
    return -1;
}

void vl_cleanup_unregister(const char *path) {
    for (int i = 0; i < VL_MAX_TEMP_FILES; i++) {
        char *p = temp_paths[i];
        if (p && strcmp(p, path) == 0) {
            temp_paths[i] = NULL;
            free(p);
            return;
        }
    }
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
