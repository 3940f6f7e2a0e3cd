// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rules.c - which backends a VIP can forward to; see rules.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"

int lb_rule_family(bool encap, uint8_t vip_family, uint8_t be_family,
		   const char *vip, const char *be, char *err, size_t errlen)
{
	if (vip_family == be_family)
		return 0;
	if (!encap) {
		snprintf(err, errlen,
			 "backend %s is IPv%d but VIP %s is IPv%d: direct "
			 "server return cannot change the address family "
			 "(use mode ipip)",
			 be, be_family, vip, vip_family);
		return -EINVAL;
	}
	if (vip_family == LB_FAMILY_V6) {
		snprintf(err, errlen,
			 "IPv4 backend %s behind IPv6 VIP %s is not supported "
			 "(IPv6-in-IPv4 encapsulation is not implemented)",
			 be, vip);
		return -EINVAL;
	}
	return 0;
}

int lb_rule_not_vip(const struct lb_vip_spec *spec, const union lb_addr *a,
		    uint8_t family, const char *vip, const char *be, char *err,
		    size_t errlen)
{
	if (family != spec->family || memcmp(&spec->addr, a, sizeof(*a)))
		return 0;
	snprintf(err, errlen,
		 "backend %s is the address of VIP %s itself: its "
		 "traffic would come back to the balancer",
		 be, vip);
	return -EINVAL;
}
