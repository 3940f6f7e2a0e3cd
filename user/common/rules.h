/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rules.h - which backends a VIP can forward to.  lbctl checks them early,
 * so that a typo is reported even when lbd is not running; lbd checks them
 * again and is the authority.  One place, so both say the same words.
 */
#ifndef LB_RULES_H
#define LB_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/*
 * The family rule of the forwarding modes: direct server return keeps the
 * address family; IPIP carries IPv6 backends behind an IPv4 VIP, never
 * IPv4 backends behind an IPv6 VIP.  encap: the VIP's mode is ipip (pass
 * true when the mode is not known yet: lbd then decides on DSR).  vip and
 * be are the names printed.  0, or -EINVAL with a one-line message in err.
 */
int lb_rule_family(bool encap, uint8_t vip_family, uint8_t be_family,
		   const char *vip, const char *be, char *err, size_t errlen);

/* A backend that is the VIP's own address: its traffic would come back to
 * the balancer.  0, or -EINVAL with a one-line message in err. */
int lb_rule_not_vip(const struct lb_vip_spec *spec, const union lb_addr *a,
		    uint8_t family, const char *vip, const char *be, char *err,
		    size_t errlen);

#endif /* LB_RULES_H */
