/*
 * The pod sandbox's process: it holds the pod's namespaces open and does
 * nothing else. PID 1 of the pod gets no default signal handlers, so SIGINT
 * and SIGTERM are handled here to let the sandbox stop at once, and zombies
 * of processes that join the PID namespace are reaped on SIGCHLD.
 * Built static (cluster/src/images.rs), so the image holds this one file.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signal_number) {
    (void)signal_number;
    _exit(0);
}

static void reap(int signal_number) {
    (void)signal_number;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void) {
    struct sigaction on_stop = {.sa_handler = stop};
    struct sigaction on_child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
    if (sigaction(SIGINT, &on_stop, NULL) < 0 || sigaction(SIGTERM, &on_stop, NULL) < 0 ||
        sigaction(SIGCHLD, &on_child, NULL) < 0) {
        return 1;
    }
    for (;;) {
        pause();
    }
}
