// SPDX-License-Identifier: BSD-2-Clause
/*
 * Test driver for the SPF module's asynchronous side, run the way greywalld's
 * event loop will run it: one spf_target refreshed ROUNDS times, each refresh
 * driven by poll() on spf_resolver_fd() with spf_resolver_timeout_ms().
 *
 * Usage: spf_refresh SERVER TARGET ROUNDS [TIMEOUT_MS]
 *
 * Each round prints, on standard output,
 *   round N status=ok|permerror|temperror networks=K refresh_after=S error=TEXT
 *   round N CIDR          (the target's set after the round: the last good one)
 *   round N max_call_us=U (the longest any module call held the loop)
 * and before each round but the first, reads one line from standard input: the
 * test's go-ahead, once it has changed the world (stopped the DNS server).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spf.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void note_call(uint64_t started, uint64_t *longest)
{
	uint64_t took = now_us() - started;

	if (took > *longest)
		*longest = took;
}

int main(int argc, char **argv)
{
	struct spf_resolver_options options = {.ttl_floor = 1, .timeout_ms = 5000};
	struct spf_resolver *resolver;
	struct spf_target *target;
	char error[SPF_ERROR_MAX], line[64];
	int rounds;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: spf_refresh SERVER TARGET ROUNDS [TIMEOUT_MS]\n");
		return 2;
	}
	options.upstream = argv[1];
	rounds = atoi(argv[3]);
	if (argc == 5)
		options.timeout_ms = (unsigned)atoi(argv[4]);
	resolver = spf_resolver_new(&options, error, sizeof(error));
	if (!resolver) {
		fprintf(stderr, "spf_refresh: %s\n", error);
		return 1;
	}
	target = spf_target_new(resolver, argv[2], NULL, NULL);
	if (!target)
		return 1;
	for (int round = 1; round <= rounds; round++) {
		static const char *const status_names[] = {"ok", "permerror", "temperror"};
		const struct spf_cidr_set *set;
		uint64_t longest = 0, started;
		const char *target_error;

		if (round > 1 && !fgets(line, sizeof(line), stdin))
			break;
		started = now_us();
		spf_target_refresh(target);
		note_call(started, &longest);
		while (spf_target_busy(target)) {
			struct pollfd pfd = {.fd = spf_resolver_fd(resolver), .events = POLLIN};

			(void)poll(&pfd, 1, spf_resolver_timeout_ms(resolver));
			started = now_us();
			spf_resolver_process(resolver);
			note_call(started, &longest);
		}
		set = spf_target_set(target);
		target_error = spf_target_error(target);
		printf("round %d status=%s networks=%zu refresh_after=%u error=%s\n", round,
		       status_names[spf_target_status(target)], set->count,
		       spf_target_refresh_after(target), target_error ? target_error : "-");
		for (size_t i = 0; i < set->count; i++) {
			char cidr[SPF_CIDR_STRLEN];

			printf("round %d %s\n", round,
			       spf_cidr_format(&set->cidrs[i], cidr, sizeof(cidr)));
		}
		printf("round %d max_call_us=%llu\n", round, (unsigned long long)longest);
		fflush(stdout);
	}
	spf_target_free(target);
	spf_resolver_free(resolver);
	return 0;
}
