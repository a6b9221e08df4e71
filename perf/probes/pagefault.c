// What a minor page fault costs on this machine: touch one byte of every 4 KB page of a fresh 256 MB
// anonymous mapping (each touch faults the page in), then again after MADV_DONTNEED (what the .NET
// GC does to the pages of collected regions it gives back). Quoted in docs/benchmarks.md.
//   gcc -O2 -o /tmp/pagefault perf/probes/pagefault.c && /tmp/pagefault
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

static double touch_ns_per_page(char *p, size_t n)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (n / 4096);
}

int main(void)
{
    size_t n = 256UL << 20;
    char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
    {
        perror("mmap");
        return 1;
    }

    printf("first touch: %.0f ns per 4 KB page (%zu pages)\n", touch_ns_per_page(p, n), n / 4096);
    madvise(p, n, MADV_DONTNEED);
    printf("after MADV_DONTNEED: %.0f ns per page\n", touch_ns_per_page(p, n));
    printf("again, resident: %.0f ns per page\n", touch_ns_per_page(p, n));
    return 0;
}
