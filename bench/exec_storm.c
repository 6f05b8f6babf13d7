/*
 * exec_storm.c - the exec storm of the agent benchmark (bench/agent.sh):
 * runs PROGRAM with the argument "MARKER-N" at RATE executions per second
 * for SECONDS seconds (fork + execve, children reaped as they end), then
 * prints "execs N rate R/s". Paced in 10 ms slices so the rate is steady; at
 * most MAX_INFLIGHT children at once (a machine slower than RATE gets what
 * it can do, never a fork failure), so the achieved rate is what it says.
 *
 * Usage: exec_storm RATE SECONDS PROGRAM MARKER
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long arg_long(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0) {
        fprintf(stderr, "exec_storm: %s: expected a positive number, got '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: exec_storm RATE SECONDS PROGRAM MARKER\n");
        return 2;
    }
    long rate = arg_long(argv[1], "RATE"), secs = arg_long(argv[2], "SECONDS");
    const char *prog = argv[3], *marker = argv[4];
    double t0 = now_s(), end = t0 + (double)secs;
    uint64_t n = 0;
    unsigned inflight = 0;
    char arg[128];
    while (now_s() < end) {
        /* how many should have started by now */
        uint64_t due = (uint64_t)((now_s() - t0) * (double)rate);
        while (n < due && now_s() < end) {
            if (inflight >= MAX_INFLIGHT) {
                if (wait(NULL) > 0)
                    inflight--;
                continue;
            }
            snprintf(arg, sizeof arg, "%s-%llu", marker, (unsigned long long)n);
            pid_t p = fork();
            if (p == 0) {
                char *const av[] = { (char *)prog, arg, NULL };
                execv(prog, av);
                _exit(127);
            }
            if (p < 0) {
                fprintf(stderr, "exec_storm: fork: %s\n", strerror(errno));
                break;
            }
            n++;
            inflight++;
        }
        while (inflight && waitpid(-1, NULL, WNOHANG) > 0)
            inflight--;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    double el = now_s() - t0;   /* the storm itself; the last children are reaped after */
    while (wait(NULL) > 0)
        ;
    printf("execs %llu rate %.0f/s\n", (unsigned long long)n, (double)n / el);
    return 0;
}
