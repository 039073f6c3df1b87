// SPDX-License-Identifier: BSD-2-Clause
/*
 * Any bytes as one Postfix policy request (the part before its empty line),
 * answered by gw_policy_answer from in-memory tables and a small list set, as
 * greywalld answers them. Invariants: the answer fits the buffer, is one
 * "action=..." line followed by the empty line, and holds no NUL.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/conf.h"
#include "../../control/policy_server.h"

#define TRIP_BUCKETS 256
#define AWL_BUCKETS  64

static struct gw_conf cfg;
static struct gw_table_header th, ah;
static struct gw_table trip, awl;
static struct gw_policy_ctx ctx;
static u64 secret[2] = {1, 2};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const entries[] = {"sender @spam.example", "client 192.0.2.0/24",
					      "recipient postmaster@b.example"};
	char err[128];
	unsigned i;

	(void)argc;
	(void)argv;
	gw_conf_defaults(&cfg);
	trip = (struct gw_table){&th, calloc(TRIP_BUCKETS, 64), TRIP_BUCKETS, 0, GW_TABLE_TRIPLETS};
	awl = (struct gw_table){&ah, calloc(AWL_BUCKETS, 64), AWL_BUCKETS, 0, GW_TABLE_AWL};
	ctx.cfg = &cfg;
	ctx.policy = (struct gw_policy){&trip, &awl, &cfg.policy, secret};
	ctx.lists = gw_lists_new();
	/* the verdict line too: client_name and the addresses go into it as the client sent them */
	ctx.log_verdicts = 1;
	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		assert(gw_lists_add(ctx.lists, i ? GW_WHITE : GW_BLACK, entries[i], err,
				    sizeof(err)) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[GW_REPLY_MAX + 64], *req; /* greywalld's answer buffer */
	const u8 *end;
	size_t n;

	if (size > GW_POLICY_REQ_MAX)
		return 0;
	/* greywalld hands over a request up to its empty line, its last newline kept */
	end = memmem(data, size, "\n\n", 2);
	if (end)
		size = (size_t)(end - data) + 1;
	/* every input starts from empty tables: a finding replays alone */
	memset(&th, 0, sizeof(th));
	memset(&ah, 0, sizeof(ah));
	memset(trip.buckets, 0, TRIP_BUCKETS * 64);
	memset(awl.buckets, 0, AWL_BUCKETS * 64);
	/* an exact-size heap copy lets ASan see any read past the request */
	req = malloc(size ? size : 1);
	memcpy(req, data, size);
	memset(out, 0xa5, sizeof(out));
	n = gw_policy_answer(&ctx, req, size, out, sizeof(out), 1800000000ULL);
	assert(n >= sizeof("action=x\n\n") - 1 && n < sizeof(out));
	assert(!memcmp(out, "action=", 7));
	assert(out[n] == 0 && !memchr(out, 0, n));
	assert(out[n - 1] == '\n' && out[n - 2] == '\n' && memchr(out, '\n', n) == out + n - 2);
	free(req);
	return 0;
}
