// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* nl.c - one request and its answers over rtnetlink (see nl.h). */
#include <errno.h>
#include <linux/netlink.h>

#include "nl.h"

int lbd_nl_talk(struct mnl_socket *nl, uint32_t *seq, struct nlmsghdr *nlh,
		mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t portid = mnl_socket_get_portid(nl);
	int ret;

	nlh->nlmsg_seq = ++*seq;
	/* NLM_F_DUMP is two bits, one of which NLM_F_REPLACE shares: a
	 * replace is no dump */
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid, cb, data);
		/* the late answer of an earlier request that timed out */
		if (ret < 0 && errno == EPROTO)
			continue;
		if (ret <= MNL_CB_STOP)
			break;
	}
	return ret < 0 ? -errno : 0;
}
