#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The greylist round trip of dp_greylist_retry.sh with greywall-dp on
# net_af_xdp vdevs instead of AF_PACKET: XDP redirects each veth's frames into
# an AF_XDP socket, and greywall-dp sends through the other. Real Postfix on
# both sides; the first attempt gets greywall's 450, the retry is delivered.
TB_DP_VDEV=af_xdp exec "$(dirname "$0")/dp_greylist_retry.sh"
