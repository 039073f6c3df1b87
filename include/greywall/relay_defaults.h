/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The relay filter's built-in configuration: the policy defaults of policy.h
 * and the reply templates of reply.h, the latter compiled to pieces by hand
 * here so the BPF object needs no template parser. The relay fixtures
 * (tests/bpf/test_relay.c) compare the frames they produce with the
 * templates rendered by lib/reply.c.
 */
#ifndef GREYWALL_RELAY_DEFAULTS_H
#define GREYWALL_RELAY_DEFAULTS_H

#include "relay.h"

#define GW_LIT_LEN(s) ((u16)(sizeof(s) - 1))

/* GW_REPLY_GREYLIST_DEFAULT */
#define GW_GREY_P0 "450 4.7.1 <"
#define GW_GREY_P1 ">: Recipient address rejected: Greylisted, retry in "
#define GW_GREY_P2 " seconds"
/* GW_REPLY_BLACKLIST_DEFAULT */
#define GW_BLACK_P0 "550 5.7.1 <"
#define GW_BLACK_P1 ">: Recipient address rejected: Access denied"
/* GW_REPLY_TLS_DEFAULT */
#define GW_TLS_P0 "421 4.7.0 Greylisted, try again later"
/* GW_REPLY_GREYLIST_SHORT, GW_REPLY_BLACKLIST_SHORT */
#define GW_GREY_SHORT_P0  "450 4.7.1 Greylisted"
#define GW_BLACK_SHORT_P0 "550 5.7.1 Denied"

static const struct gw_relay_config gw_relay_default_config = {
    .magic = GW_RELAY_CONFIG_MAGIC,
    .smtp_port = 25,
    .mask_pipelining = 1,
    .clock_offset_ns = 0,
    .policy =
	{
	    .delay = GW_DEFAULT_DELAY,
	    .retry_window = GW_DEFAULT_RETRY_WINDOW,
	    .max_age = GW_DEFAULT_MAX_AGE,
	    .awl_clients = GW_DEFAULT_AWL_CLIENTS,
	    .awl_interval = GW_DEFAULT_AWL_INTERVAL,
	    .max_line = GW_DEFAULT_MAX_LINE,
	    .v4_prefix = GW_DEFAULT_V4_PREFIX,
	    .v6_prefix = GW_DEFAULT_V6_PREFIX,
	    .tls_mode = GW_TLS_GREYLIST,
	    .exempt_postmaster = 1,
	    .norm = {.strip_extension = true, .verp_fold = true},
	},
    .text =
	{
	    [GW_RK_GREYLIST] =
		{
		    .off = {0, GW_LIT_LEN(GW_GREY_P0),
			    GW_LIT_LEN(GW_GREY_P0) + GW_LIT_LEN(GW_GREY_P1)},
		    .len = {GW_LIT_LEN(GW_GREY_P0), GW_LIT_LEN(GW_GREY_P1), GW_LIT_LEN(GW_GREY_P2)},
		    .subst = {GW_SUB_RCPT, GW_SUB_SECONDS, GW_SUB_NONE},
		    .npieces = 3,
		    .bytes = GW_GREY_P0 GW_GREY_P1 GW_GREY_P2,
		},
	    [GW_RK_BLACKLIST] =
		{
		    .off = {0, GW_LIT_LEN(GW_BLACK_P0)},
		    .len = {GW_LIT_LEN(GW_BLACK_P0), GW_LIT_LEN(GW_BLACK_P1)},
		    .subst = {GW_SUB_RCPT, GW_SUB_NONE},
		    .npieces = 2,
		    .bytes = GW_BLACK_P0 GW_BLACK_P1,
		},
	    [GW_RK_TLS] =
		{
		    .off = {0},
		    .len = {GW_LIT_LEN(GW_TLS_P0)},
		    .subst = {GW_SUB_NONE},
		    .npieces = 1,
		    .bytes = GW_TLS_P0,
		},
	    [GW_RK_GREYLIST_SHORT] =
		{
		    .off = {0},
		    .len = {GW_LIT_LEN(GW_GREY_SHORT_P0)},
		    .subst = {GW_SUB_NONE},
		    .npieces = 1,
		    .bytes = GW_GREY_SHORT_P0,
		},
	    [GW_RK_BLACKLIST_SHORT] =
		{
		    .off = {0},
		    .len = {GW_LIT_LEN(GW_BLACK_SHORT_P0)},
		    .subst = {GW_SUB_NONE},
		    .npieces = 1,
		    .bytes = GW_BLACK_SHORT_P0,
		},
	},
};

#endif /* GREYWALL_RELAY_DEFAULTS_H */
