/*
 * preempt.c: the kernel baseline for RtRuntime.Compare's "preemption latency on a busy CPU".
 * Built by the runner with the machine's gcc at run time (no binary is committed).
 *
 *   preempt timer SAMPLES INTERVAL_US   a SCHED_FIFO 90 thread on CPU 0 sleeps to absolute
 *                                       deadlines (clock_nanosleep, timer slack 1 ns) while a
 *                                       hog computes on CPU 0; latency = wake - deadline. The
 *                                       deadlines are 0.75-1.25 x INTERVAL apart, pseudo-random
 *                                       from the seed and LCG of the runner's DeadlineSequence
 *                                       (the same sequence as RtRuntime's timer rows).
 *   preempt event SAMPLES INTERVAL_US   a SCHED_FIFO 90 thread on CPU 0 waits on a futex while a
 *                                       hog computes on CPU 0; a thread on CPU 1 stamps the time
 *                                       and wakes it; latency = running - stamp.
 *
 * The hog is SCHED_OTHER (the kernel preempts it for a FIFO wakeup at once; a SCHED_FIFO hog would
 * be throttled by sched_rt_runtime_us and stall the measurement). One latency in ns per stdout line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 20

static volatile int done;
static volatile int ready;
static int word;
static volatile int64_t stamp;
static int samples;
static int64_t interval_ns;
static int64_t *lat;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
        fprintf(stderr, "pin to cpu %d failed\n", cpu);
    }
}

static int fifo(int prio)
{
    struct sched_param p = { .sched_priority = prio };
    int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
    if (e != 0) {
        fprintf(stderr, "SCHED_FIFO %d failed: %s\n", prio, strerror(e));
        return -1;
    }
    return 0;
}

static void *hog(void *arg)
{
    (void)arg;
    pin(0);
    volatile uint64_t x = 1;
    while (!done) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    return NULL;
}

/* The deadline after prev: the runner's DeadlineSequence.Jittered, step for step. */
static uint64_t lcg = 12345;
static int64_t next_deadline(int64_t prev)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return prev + interval_ns * 3 / 4 + (int64_t)((lcg >> 33) % (uint64_t)(interval_ns / 2));
}

static void *timer_measurer(void *arg)
{
    (void)arg;
    pin(0);
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
    if (fifo(90) != 0) {
        exit(3);
    }
    int64_t next = next_deadline(now_ns());
    for (int i = -WARMUP; i < samples; i++) {
        struct timespec ts = { .tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
        int64_t t = now_ns();
        if (i >= 0) {
            lat[i] = t - next;
        }
        next = next_deadline(next);
        while (next <= t) {
            next = next_deadline(next);
        }
    }
    return NULL;
}

static void *event_waiter(void *arg)
{
    (void)arg;
    pin(0);
    if (fifo(90) != 0) {
        exit(3);
    }
    for (int i = -WARMUP; i < samples; i++) {
        __atomic_store_n(&ready, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0) {
            syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        }
        int64_t t = now_ns();
        if (i >= 0) {
            lat[i] = t - stamp;
        }
        __atomic_store_n(&word, 0, __ATOMIC_RELEASE);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s timer|event SAMPLES INTERVAL_US\n", argv[0]);
        return 2;
    }
    int timer = strcmp(argv[1], "timer") == 0;
    samples = atoi(argv[2]);
    interval_ns = atoll(argv[3]) * 1000LL;
    lat = calloc((size_t)samples, sizeof *lat);
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        fprintf(stderr, "mlockall failed: %s (continuing)\n", strerror(errno));
    }

    pthread_t h, m;
    pthread_create(&h, NULL, hog, NULL);
    usleep(20000);
    pthread_create(&m, NULL, timer ? timer_measurer : event_waiter, NULL);
    if (!timer) {
        pin(1);
        unsigned seed = 12345;
        for (int i = -WARMUP; i < samples; i++) {
            while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
            }
            __atomic_store_n(&ready, 0, __ATOMIC_RELAXED);
            /* a random gap of 0.25..0.75 intervals, so the waiter is asleep and the hog mid-computation */
            int64_t gap = interval_ns / 4 + (int64_t)(rand_r(&seed) % (unsigned)(interval_ns / 2 + 1));
            int64_t until = now_ns() + gap;
            while (now_ns() < until) {
            }
            stamp = now_ns();
            __atomic_store_n(&word, 1, __ATOMIC_RELEASE);
            syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        }
    }
    pthread_join(m, NULL);
    done = 1;
    pthread_join(h, NULL);
    for (int i = 0; i < samples; i++) {
        printf("%lld\n", (long long)lat[i]);
    }
    return 0;
}
