// SPDX-License-Identifier: BSD-2-Clause
/*
 * The session parser fed a hostile conversation: the input is a sequence of
 * records [dir:1][len:1][bytes], so the fuzzer controls both directions and
 * every chunk boundary. Invariants: events come in stream order and inside
 * what was fed, and the FIFO never exceeds its bound.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/smtp_stream.h"

struct checker {
	struct gw_smtp_session *s;
	u64 last_cmd_off, last_reply_end;
	unsigned ncmd;
};

static enum gw_smtp_action on_command(void *ctx, const struct gw_smtp_cmd *c, u32 *tag)
{
	struct checker *k = ctx;

	assert(c->offset >= k->last_cmd_off);
	assert(c->offset + c->len <= k->s->coff);
	assert(c->path_len <= GW_PATH_MAX);
	*tag = 0;
	/* defer now and then: the line comes again at the same offset */
	if (c->verb != GW_CMD_DATA_END && ++k->ncmd % 5 == 0)
		return GW_ACT_DEFER;
	k->last_cmd_off = c->offset + c->len;
	/* drop every other RCPT to exercise injection */
	return (c->verb == GW_CMD_RCPT && (c->offset & 1)) ? GW_ACT_DROP : GW_ACT_FORWARD;
}

static void on_reply(void *ctx, const struct gw_smtp_reply *r)
{
	struct checker *k = ctx;

	assert(r->offset >= k->last_reply_end);
	assert(r->offset + r->len <= k->s->soff);
	assert(r->code >= 0 && r->code <= 999);
	k->last_reply_end = r->offset + r->len;
}

static void on_inject(void *ctx, const struct gw_smtp_pending *p, u64 at)
{
	struct checker *k = ctx;

	(void)p;
	assert(at <= k->s->soff);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct gw_smtp_callbacks cb = {on_command, on_reply, on_inject, NULL};
	struct gw_smtp_session *s = malloc(sizeof(*s));
	struct checker k = {s, 0, 0, 0};
	size_t i = 0;

	gw_smtp_session_init(s, 64 + (size ? data[0] : 0), &cb, &k);
	while (i + 2 <= size) {
		u8 dir = data[i], len = data[i + 1];

		i += 2;
		if (len > size - i)
			len = (u8)(size - i);
		if (dir & 1)
			gw_smtp_feed_server(s, data + i, len);
		else {
			u64 coff = s->coff;
			u32 took = gw_smtp_feed_client(s, data + i, len);

			/* what was taken is what coff moved by, unless a begun line went back */
			assert(took <= len);
			assert(took == len ? s->coff == coff + len : s->coff <= coff + took);
		}
		assert(s->fifo_count <= GW_SMTP_FIFO_MAX);
		i += len;
	}
	free(s);
	return 0;
}
