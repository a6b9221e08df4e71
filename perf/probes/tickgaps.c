/*
 * tickgaps.c: how this machine stops a busy core, with no .NET and no runtime in the process.
 *
 *   gcc -O2 -pthread -o /tmp/tickgaps perf/probes/tickgaps.c && /tmp/tickgaps [rounds]
 *
 * A thread pinned to core 0 (SCHED_OTHER, as RtRuntime's CPU threads by default) spins on
 * CLOCK_MONOTONIC for 2 s per round and prints:
 *   gaps     the stops: two clock reads more than 20 us apart (count, total, mean, lengths), the
 *            local timer interrupts (LOC) core 0 took meanwhile, and where each stop began modulo
 *            4 ms (the 250 Hz tick of this guest kernel) in 0.5 ms bins: stops that cluster in a
 *            few bins are locked to the tick's phase;
 *   floor    the best any timer on that core can do: spin to each of 10,000 deadlines and take the
 *            first clock read at or past it, once with a deadline every 200 us (a period that
 *            divides 4 ms, so every deadline of the round sits at one phase of the stops) and once
 *            0.75-1.25 x 200 us apart (the seeded LCG of perf/compare's DeadlineSequence): p50, p99,
 *            p99.9, max and the samples later than 15 us (perf/compare's K = 10 us bound);
 *   sleeper  how late an idle core's timed wakeups come (what rt/timer's wakeups cost, on its core):
 *            a thread on core 1 (timer slack 1 ns) sleeps to the same jittered deadlines with
 *            clock_nanosleep while core 0 spins; p50, p99, p99.9, max and the wakeups later than
 *            200 us (RtRuntime's default TimerLead).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define MAX_GAPS 100000
#define SAMPLES 10000
#define PERIOD_NS 200000LL

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Core 0's count of one /proc/interrupts line ("LOC:"), or -1. */
static long long irq0(const char *name)
{
    FILE *f = fopen("/proc/interrupts", "r");
    char line[4096], n[64];
    long long v = -1, a;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, " %63s %lld", n, &a) == 2 && strcmp(n, name) == 0) {
            v = a;
        }
    }
    if (f) {
        fclose(f);
    }
    return v;
}

static void gaps(void)
{
    static int64_t at[MAX_GAPS], len[MAX_GAPS];
    int n = 0;
    long long loc0 = irq0("LOC:");
    int64_t t0 = now_ns(), prev = t0, end = t0 + 2000000000LL;
    for (;;) {
        int64_t t = now_ns();
        if (t - prev > 20000 && n < MAX_GAPS) {
            at[n] = prev - t0;
            len[n] = t - prev;
            n++;
        }
        prev = t;
        if (t > end) {
            break;
        }
    }
    long long loc1 = irq0("LOC:");
    int64_t total = 0;
    int bins[8] = { 0 }, lengths[5] = { 0 };
    for (int i = 0; i < n; i++) {
        total += len[i];
        bins[(at[i] % 4000000) / 500000]++;
        int64_t us = len[i] / 1000;
        lengths[us < 30 ? 0 : us < 50 ? 1 : us < 150 ? 2 : us < 1000 ? 3 : 4]++;
    }
    printf("gaps  > 20 us: %d in 2 s (%.2f %% of the time), mean %.1f us; 20-30 us %d, 30-50 %d, 50-150 %d, 150-1000 %d, > 1 ms %d; LOC %lld\n",
        n, total / 2e7, n ? total / 1e3 / n : 0.0, lengths[0], lengths[1], lengths[2], lengths[3], lengths[4], loc1 - loc0);
    printf("      start modulo 4 ms, per 0.5 ms:");
    for (int i = 0; i < 8; i++) {
        printf(" %d", bins[i]);
    }
    printf("\n");
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The deadline after prev, 0.75-1.25 x PERIOD_NS later: perf/compare's DeadlineSequence.Jittered. */
static int64_t jittered_after(uint64_t *lcg, int64_t prev)
{
    *lcg = *lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return prev + PERIOD_NS * 3 / 4 + (int64_t)((*lcg >> 33) % (uint64_t)(PERIOD_NS / 2));
}

static void floor_row(int jittered)
{
    static int64_t lat[SAMPLES];
    uint64_t lcg = 12345;
    int64_t d = now_ns() + 1000000;
    for (int i = 0; i < SAMPLES; i++) {
        d = jittered ? jittered_after(&lcg, d) : d + PERIOD_NS;
        int64_t t;
        while ((t = now_ns()) < d) {
        }
        lat[i] = t - d;
    }
    qsort(lat, SAMPLES, sizeof lat[0], cmp);
    int late = 0;
    for (int i = 0; i < SAMPLES; i++) {
        late += lat[i] > 15000;
    }
    printf("floor %-8s p50 %.2f  p99 %.2f  p99.9 %.2f  max %.0f us; > 15 us: %d of %d\n", jittered ? "jittered" : "fixed",
        lat[SAMPLES / 2] / 1e3, lat[SAMPLES * 99 / 100] / 1e3, lat[SAMPLES * 999 / 1000] / 1e3, lat[SAMPLES - 1] / 1e3, late, SAMPLES);
}

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int64_t sleeper_lat[SAMPLES];
static volatile int sleeping;

/* On core 1: sleeps to each jittered deadline, then clears `sleeping` (core 0 spins until then). */
static void *sleeper(void *arg)
{
    (void)arg;
    pin(1);
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
    uint64_t lcg = 12345;
    int64_t d = now_ns() + 1000000;
    for (int i = 0; i < SAMPLES; i++) {
        d = jittered_after(&lcg, d);
        struct timespec ts = { .tv_sec = d / 1000000000LL, .tv_nsec = d % 1000000000LL };
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        int64_t t = now_ns();
        sleeper_lat[i] = t - d;
        if (t > d) {
            d = t;
        }
    }
    __atomic_store_n(&sleeping, 0, __ATOMIC_RELEASE);
    return NULL;
}

static void sleeper_row(void)
{
    pthread_t t;
    __atomic_store_n(&sleeping, 1, __ATOMIC_RELEASE);
    if (pthread_create(&t, NULL, sleeper, NULL) != 0) {
        perror("pthread_create");
        return;
    }
    while (__atomic_load_n(&sleeping, __ATOMIC_ACQUIRE)) {
        /* core 0 spins, as a busy RtRuntime CPU does */
    }
    pthread_join(t, NULL);
    qsort(sleeper_lat, SAMPLES, sizeof sleeper_lat[0], cmp);
    int late = 0;
    for (int i = 0; i < SAMPLES; i++) {
        late += sleeper_lat[i] > 200000;
    }
    printf("sleeper  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.0f us; > 200 us: %d of %d\n",
        sleeper_lat[SAMPLES / 2] / 1e3, sleeper_lat[SAMPLES * 99 / 100] / 1e3, sleeper_lat[SAMPLES * 999 / 1000] / 1e3, sleeper_lat[SAMPLES - 1] / 1e3, late, SAMPLES);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    if (pin(0) != 0) {
        fprintf(stderr, "cannot pin to core 0\n");
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        gaps();
        floor_row(0);
        floor_row(1);
        sleeper_row();
    }
    return 0;
}
