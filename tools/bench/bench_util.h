/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the C benchmarks: a monotonic clock and the key generator. */
#ifndef GREYWALL_BENCH_UTIL_H
#define GREYWALL_BENCH_UTIL_H

#include <time.h>

#include "greywall/table.h"

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* SplitMix64, fixed up so a key is never EMPTY or TOMBSTONE. */
static inline u64 splitmix(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return gw_fp_fixup(z ^ (z >> 31));
}

#endif /* GREYWALL_BENCH_UTIL_H */
