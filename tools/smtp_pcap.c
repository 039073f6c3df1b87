// SPDX-License-Identifier: BSD-2-Clause
/*
 * SMTP sessions as pcap files, for greywall-dp behind net_pcap vdevs: the
 * decisions-per-second bench replays many short sessions, and the
 * packet-in/packet-out test feeds one session and checks what comes out of
 * each port against frames this tool builds itself (tests/bpf/tcp_frame.h,
 * its own checksum code; the reply text from lib/reply.c).
 *
 *   smtp_pcap bench OUT.pcap SESSIONS   sessions from distinct clients, one RCPT each
 *   smtp_pcap session DIR               DIR/in.pcap: one session whose RCPT is greylisted,
 *                                       then a web frame, the client's QUIT, the server's 221
 *   smtp_pcap check DIR                 DIR/out0.pcap and DIR/out1.pcap against it: the 450
 *                                       back, the RCPT gone, the web frame as it was, QUIT and
 *                                       221 with seq and ack moved past the edit
 *
 * Both directions go in one file on port 0: greywall-dp tells them apart by
 * address and port, forwards everything to port 1 and sends its own replies
 * back out of port 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/reply.h"
#include "tcp_frame.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define MAX_FRAMES    64

struct pcap_out {
	FILE *f;
	u32 n;
};

static int pcap_open(struct pcap_out *p, const char *path)
{
	u32 hdr[6] = {PCAP_MAGIC_US, 2 | (4u << 16), 0, 0, 65535, 1};

	p->f = fopen(path, "wb");
	p->n = 0;
	if (!p->f || fwrite(hdr, sizeof(hdr), 1, p->f) != 1) {
		perror(path);
		return -1;
	}
	return 0;
}

static void pcap_put(struct pcap_out *p, const struct frame *f)
{
	u32 rec[4] = {1700000000u + p->n / 1000, (p->n % 1000) * 1000, f->len, f->len};

	fwrite(rec, sizeof(rec), 1, p->f);
	fwrite(f->b, f->len, 1, p->f);
	p->n++;
}

/* Read every frame of a pcap (micro- or nanosecond). Returns the count, or -1. */
static int pcap_read(const char *path, struct frame *out, int max)
{
	FILE *f = fopen(path, "rb");
	u32 hdr[6], rec[4];
	int n = 0;

	if (!f || fread(hdr, sizeof(hdr), 1, f) != 1 ||
	    (hdr[0] != PCAP_MAGIC_US && hdr[0] != PCAP_MAGIC_NS)) {
		fprintf(stderr, "smtp_pcap: %s: not a pcap file\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	while (fread(rec, sizeof(rec), 1, f) == 1) {
		if (n == max || rec[2] > FRAME_MAX || fread(out[n].b, rec[2], 1, f) != 1) {
			fclose(f);
			return -1;
		}
		out[n++].len = rec[2];
	}
	fclose(f);
	return n;
}

/* One session's endpoints and running sequence numbers. */
struct sess {
	struct endpoint c, s;
	u32 cseq, sseq;
};

static void sess_init(struct sess *x, u32 client_ip, u16 port)
{
	smtp_endpoints(&x->c, &x->s, client_ip, port);
	x->cseq = 1000;
	x->sseq = 700000;
}

static void c2s(struct sess *x, struct frame *f, const char *text)
{
	build4(f, &x->c, &x->s, x->cseq, x->sseq, F_ACK | F_PSH, 502, text);
	x->cseq += (u32)strlen(text);
}

static void s2c(struct sess *x, struct frame *f, const char *text)
{
	build4(f, &x->s, &x->c, x->sseq, x->cseq, F_ACK | F_PSH, 510, text);
	x->sseq += (u32)strlen(text);
}

/*
 * A session up to and including the RCPT; frames into out. *rcpt_at is the
 * RCPT's index. The server answers RCPT with nothing: greywall removes it.
 */
static int session_frames(struct sess *x, const char *rcpt, struct frame *out, int *rcpt_at)
{
	char line[320];
	int n = 0;

	build4(&out[n++], &x->c, &x->s, x->cseq++, 0, F_SYN, 64240, NULL);
	build4(&out[n++], &x->s, &x->c, x->sseq++, x->cseq, F_SYN | F_ACK, 65160, NULL);
	s2c(x, &out[n++], "220 mx.example ESMTP\r\n");
	c2s(x, &out[n++], "EHLO client.example\r\n");
	s2c(x, &out[n++], "250-mx.example\r\n250 8BITMIME\r\n");
	c2s(x, &out[n++], "MAIL FROM:<alice@sender.example>\r\n");
	s2c(x, &out[n++], "250 2.1.0 Ok\r\n");
	snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpt);
	*rcpt_at = n;
	c2s(x, &out[n++], line);
	return n;
}

static int cmd_bench(const char *path, int sessions)
{
	struct frame f[MAX_FRAMES];
	struct pcap_out p;
	int i, k, n, at;

	if (pcap_open(&p, path))
		return 1;
	for (i = 0; i < sessions; i++) {
		struct sess x;
		char rcpt[64];

		/* 198.18.0.0/15 has 128 Ki addresses: clients 198.19.x.y, server 198.18.0.2 */
		sess_init(&x, 0xc6130000 | (u32)(i % 65000 + 1), (u16)(1024 + i % 60000));
		snprintf(rcpt, sizeof(rcpt), "user%d@rcpt.example", i);
		n = session_frames(&x, rcpt, f, &at);
		c2s(&x, &f[n++], "QUIT\r\n");
		for (k = 0; k < n; k++)
			pcap_put(&p, &f[k]);
	}
	fclose(p.f);
	printf("smtp_pcap: %d sessions, %u frames, one RCPT decision each, in %s\n", sessions, p.n,
	       path);
	return 0;
}

/*
 * The conversation of 'session' and 'check': in[] what arrives on port 0,
 * out1[] what must leave port 1, and the 450 that must leave port 0. The RCPT
 * (L bytes) is removed and the 450 (R bytes) inserted, so from then on the
 * server sees client seq - L and ack - R, and the client server seq + R and
 * ack + L. A frame to a web server passes untouched in between.
 */
struct conversation {
	struct frame in[MAX_FRAMES], out1[MAX_FRAMES], reply;
	int nin, nout1;
};

static void the_conversation(struct conversation *cv)
{
	struct gw_reply_vars v = {.rcpt = "bob@rcpt.example", .sender = "", .seconds = 300};
	struct endpoint web_c, web_s;
	struct sess x;
	char text[512];
	u32 L, R;
	int i, at;

	sess_init(&x, 0xc6120101, 40001); /* 198.18.1.1 */
	cv->nin = session_frames(&x, "bob@rcpt.example", cv->in, &at);
	gw_reply_render(GW_REPLY_GREYLIST_DEFAULT, &v, text, sizeof(text));
	/* addresses and ports swapped, seq the server's next byte, ack the end of the RCPT */
	build4(&cv->reply, &x.s, &x.c, x.sseq, x.cseq, F_ACK | F_PSH, 510, text);
	L = cv->in[at].len - (14 + 20 + 20);
	R = (u32)strlen(text);
	cv->nout1 = 0;
	for (i = 0; i < cv->nin; i++)
		if (i != at)
			cv->out1[cv->nout1++] = cv->in[i];
	/* a web frame from the same client: not SMTP, forwarded byte for byte */
	smtp_endpoints(&web_c, &web_s, 0xc6120101, 40002);
	web_s.port = 80;
	build4(&cv->in[cv->nin], &web_c, &web_s, 5000, 6000, F_ACK | F_PSH, 502,
	       "GET / HTTP/1.1\r\nHost: web.example\r\n\r\n");
	cv->out1[cv->nout1++] = cv->in[cv->nin++];
	/* the client read the 450 and quits; the server has not seen the RCPT */
	build4(&cv->in[cv->nin++], &x.c, &x.s, x.cseq, x.sseq + R, F_ACK | F_PSH, 502, "QUIT\r\n");
	build4(&cv->out1[cv->nout1++], &x.c, &x.s, x.cseq - L, x.sseq, F_ACK | F_PSH, 502,
	       "QUIT\r\n");
	x.cseq += 6;
	build4(&cv->in[cv->nin++], &x.s, &x.c, x.sseq, x.cseq - L, F_ACK | F_PSH, 510,
	       "221 2.0.0 Bye\r\n");
	build4(&cv->out1[cv->nout1++], &x.s, &x.c, x.sseq + R, x.cseq, F_ACK | F_PSH, 510,
	       "221 2.0.0 Bye\r\n");
}

static int cmd_session(const char *dir)
{
	static struct conversation cv;
	struct pcap_out p;
	char path[512];
	int i;

	the_conversation(&cv);
	snprintf(path, sizeof(path), "%s/in.pcap", dir);
	if (pcap_open(&p, path))
		return 1;
	for (i = 0; i < cv.nin; i++)
		pcap_put(&p, &cv.in[i]);
	fclose(p.f);
	return 0;
}

static int failures;

static void expect(int ok, const char *what)
{
	if (!ok) {
		failures++;
		fprintf(stderr, "smtp_pcap: FAIL: %s\n", what);
	}
}

static int cmd_check(const char *dir)
{
	static struct conversation cv;
	static struct frame out0[MAX_FRAMES], out1[MAX_FRAMES];
	char path[512], what[96];
	int j, n0, n1;

	the_conversation(&cv);
	snprintf(path, sizeof(path), "%s/out0.pcap", dir);
	n0 = pcap_read(path, out0, MAX_FRAMES);
	snprintf(path, sizeof(path), "%s/out1.pcap", dir);
	n1 = pcap_read(path, out1, MAX_FRAMES);
	if (n0 < 0 || n1 < 0)
		return 1;
	/* toward the client (out of port 0): our 450, exactly */
	expect(n0 == 1, "port 0 sent one frame, the injected reply");
	expect(n0 >= 1 && out0[0].len == cv.reply.len &&
		   !memcmp(out0[0].b, cv.reply.b, cv.reply.len),
	       "the reply frame is exactly the expected 450, checksums included");
	/* out of port 1: every other frame, byte for byte as spelled out */
	expect(n1 == cv.nout1, "port 1 sent every frame but the RCPT");
	for (j = 0; j < n1 && j < cv.nout1; j++) {
		snprintf(what, sizeof(what), "port 1 frame %d is byte for byte the expected one",
			 j);
		expect(out1[j].len == cv.out1[j].len &&
			   !memcmp(out1[j].b, cv.out1[j].b, cv.out1[j].len),
		       what);
	}
	for (j = 0; j < n1; j++)
		expect(!memmem(out1[j].b, out1[j].len, "RCPT TO", 7), "no RCPT reached port 1");
	if (!failures)
		printf("smtp_pcap: ok: %d frames in; the RCPT removed, the 450 sent back, the web "
		       "frame untouched, QUIT and 221 moved past the edit, byte for byte\n",
		       cv.nin);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "bench"))
		return cmd_bench(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "session"))
		return cmd_session(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2]);
	fprintf(stderr, "usage: smtp_pcap bench OUT.pcap SESSIONS | session DIR | check DIR\n");
	return 2;
}
