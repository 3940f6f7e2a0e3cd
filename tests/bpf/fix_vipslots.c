// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_vipslots.c - the VIP index (lb_vip_slots): which slot answers a
 * packet and when lb_vips must, with slots written byte for byte here; and
 * the slots user space builds from lb_vips (lb_vip_slots_build and
 * lb_dp_sync_vip_slots).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "fixture.h"
#include "lb_hash.h"

#define X "198.51.100.2" /* v4_tcp's backend for the flow below */

static void key_of(struct lb_vip_key *k, const char *addr, uint16_t port,
		   uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	fx_addr_of(addr, &k->addr);
	k->port = htons(port);
	k->proto = proto;
	k->family = fx_family_of(addr) == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6;
}

/* v4_tcp's lb_vips entry */
static int vip_entry(struct lb_vip_key *k, struct lb_vip *v)
{
	key_of(k, "203.0.113.10", 80, 6);
	return bpf_map_lookup_elem(dp.vips, k, v) ? -errno : 0;
}

static int write_slot(uint32_t i, const struct lb_vip_slot *s)
{
	return bpf_map_update_elem(dp.vip_slots, &i, s, BPF_ANY) ? -errno : 0;
}

/*
 * The SYN 192.0.2.100:42000 -> 203.0.113.10:80 (X's flow in
 * fix_conntrack.c): the action, and in *how what came out: 'D' for L2 DSR
 * to X, 'E' for IPIP to X, 'S' for the input unchanged, '?' else.
 */
static int run_syn(char *how)
{
	struct pkt_spec s = { FX_SPEC_DEFAULTS(4, "192.0.2.100", "203.0.113.10",
					       6, 42000, 80) };
	uint8_t xmac[6];
	struct pkt in, out;
	int act;

	fx_be_mac(fx_be_id(&v4_tcp, X), xmac);
	pkt_build(&s, &in);
	act = fx_run(fx_prog_fd, &in, &out);
	*how = '?';
	if (act == XDP_PASS && out.len == in.len &&
	    !memcmp(out.b, in.b, in.len))
		*how = 'S';
	else if (act == XDP_TX && out.len == in.len && !memcmp(out.b, xmac, 6))
		*how = 'D';
	else if (act == XDP_TX && out.len == in.len + 20 &&
		 !memcmp(out.b, xmac, 6) && out.b[14] == 0x45 &&
		 out.b[23] == 4 /* IPIP */ &&
		 !memcmp(out.b + 34, in.b + 14, in.len - 14))
		*how = 'E';
	return act;
}

static void check_syn(const char *name, char want, const char *why)
{
	char how;
	int act = run_syn(&how);

	T_CHECK(name, how == want, "%s: got %s, '%c' (want '%c')", why,
		fx_action_name(act), how, want);
}

static void test_datapath_reads_slots(void)
{
	struct lb_vip_key k, other;
	struct lb_vip v;
	struct lb_vip_slot s = {};
	uint32_t i;

	if (vip_entry(&k, &v)) {
		t_fail("vipslot_setup", "v4_tcp is not in lb_vips");
		return;
	}
	i = lb_vip_slot_of(&k);
	check_syn("vipslot_synced_slot_forwards", 'D',
		  "the slot lbd's sync wrote");

	/* a copy that says IPIP where lb_vips says DSR: the copy is used */
	s.key = k;
	s.flags = LB_VIP_SLOT_F_USED;
	s.vip = v;
	s.vip.flags |= LB_VIP_F_ENCAP;
	s.check = lb_vip_slot_check(&s);
	write_slot(i, &s);
	check_syn("vipslot_answers_with_its_copy", 'E',
		  "a valid slot naming the VIP with IPIP");

	/* the same with a check that does not hold (a slot read while being
	 * rewritten): lb_vips answers */
	s.check ^= 0x2;
	write_slot(i, &s);
	check_syn("vipslot_failed_check_asks_lb_vips", 'D',
		  "a slot whose check fails");

	/* the slot names another key, and no other key falls on it: the
	 * packet's key is no VIP, whatever lb_vips holds */
	key_of(&other, "203.0.113.77", 80, 6);
	memset(&s, 0, sizeof(s));
	s.key = other;
	s.flags = LB_VIP_SLOT_F_USED;
	s.vip = v;
	s.check = lb_vip_slot_check(&s);
	write_slot(i, &s);
	check_syn("vipslot_alone_other_key_passes", 'S',
		  "a slot naming another key alone");

	/* the same slot marked shared: lb_vips answers */
	s.flags |= LB_VIP_SLOT_F_SHARED;
	s.check = lb_vip_slot_check(&s);
	write_slot(i, &s);
	check_syn("vipslot_shared_other_key_asks_lb_vips", 'D',
		  "a shared slot naming another key");

	/* never written: lb_vips answers */
	memset(&s, 0, sizeof(s));
	write_slot(i, &s);
	check_syn("vipslot_never_written_asks_lb_vips", 'D', "a zero slot");

	T_CHECK("vipslot_sync_restores", !lb_dp_sync_vip_slots(&dp),
		"lb_dp_sync_vip_slots failed");
	check_syn("vipslot_resynced_slot_forwards", 'D', "after the sync");
}

/* Two keys on one address that fall on one slot: a's port below b's. */
static int colliding_keys(struct lb_vip_key *a, struct lb_vip_key *b)
{
	key_of(a, "203.0.113.200", 1, 6);
	for (uint32_t p = 2; p < 65536; p++) {
		key_of(b, "203.0.113.200", (uint16_t)p, 6);
		if (lb_vip_slot_of(a) == lb_vip_slot_of(b))
			return 0;
	}
	return -1;
}

static int slots_consistent(const struct lb_vip_slot *s)
{
	for (uint32_t i = 0; i < LB_VIP_SLOTS; i++)
		if (!s[i].check || s[i].check != lb_vip_slot_check(&s[i]))
			return 0;
	return 1;
}

static void test_build(void)
{
	struct lb_vip_slot *s1 = calloc(LB_VIP_SLOTS, sizeof(*s1));
	struct lb_vip_slot *s2 = calloc(LB_VIP_SLOTS, sizeof(*s2));
	struct lb_vip_key keys[3], rev[3];
	struct lb_vip vals[3] = { { .vip_id = 7 },
				  { .vip_id = 8 },
				  { .vip_id = 9 } };
	struct lb_vip rvals[3];
	uint32_t i, used = 0;

	if (!s1 || !s2 || colliding_keys(&keys[0], &keys[1])) {
		t_fail("vipslot_build_setup", "no memory or no colliding keys");
		goto out;
	}
	key_of(&keys[2], "2001:db8:f::99", 443, 6);
	/* the larger key first, then the smaller: the smaller owns the slot */
	rev[0] = keys[1], rvals[0] = vals[1];
	rev[1] = keys[0], rvals[1] = vals[0];
	rev[2] = keys[2], rvals[2] = vals[2];
	lb_vip_slots_build(keys, vals, 3, s1);
	lb_vip_slots_build(rev, rvals, 3, s2);
	i = lb_vip_slot_of(&keys[0]);
	T_CHECK("vipslot_build_order_free",
		!memcmp(s1, s2, LB_VIP_SLOTS * sizeof(*s1)),
		"one set of VIPs gave two sets of slots");
	T_CHECK("vipslot_build_shared_slot",
		s1[i].flags == (LB_VIP_SLOT_F_USED | LB_VIP_SLOT_F_SHARED) &&
			!memcmp(&s1[i].key, &keys[0], sizeof(keys[0])) &&
			s1[i].vip.vip_id == 7,
		"slot %u: flags %#x, vip id %u (want used+shared, id 7)", i,
		s1[i].flags, s1[i].vip.vip_id);
	i = lb_vip_slot_of(&keys[2]);
	T_CHECK("vipslot_build_alone_slot",
		s1[i].flags == LB_VIP_SLOT_F_USED && s1[i].vip.vip_id == 9,
		"slot %u: flags %#x, vip id %u (want used, id 9)", i,
		s1[i].flags, s1[i].vip.vip_id);
	for (uint32_t j = 0; j < LB_VIP_SLOTS; j++)
		used += !!(s1[j].flags & LB_VIP_SLOT_F_USED);
	T_CHECK("vipslot_build_checks_hold", slots_consistent(s1) && used == 2,
		"a slot's check is 0 or wrong, or %u slots used (want 2)",
		used);
out:
	free(s1);
	free(s2);
}

/* The action for a TCP ACK from 192.0.2.100:42001 to key k. */
static int run_to(const struct lb_vip_key *k)
{
	struct pkt_spec s = { FX_SPEC_DEFAULTS(
		4, "192.0.2.100", "203.0.113.200", 6, 42001, ntohs(k->port)) };
	struct pkt in, out;

	s.tcp_flags = 0x10;
	pkt_build(&s, &in);
	return fx_run(fx_prog_fd, &in, &out);
}

/* Two VIPs on one slot in the loaded datapath: each reaches its backends,
 * whichever owns the slot, and the other after the owner leaves. */
static void test_shared_in_datapath(void)
{
	struct lb_vip_slot *want = calloc(LB_VIP_SLOTS, sizeof(*want));
	struct lb_vip_slot got;
	struct lb_vip_key a, b, tcp;
	struct lb_vip v;
	uint32_t i;

	if (!want || vip_entry(&tcp, &v) || colliding_keys(&a, &b)) {
		t_fail("vipslot_shared_setup",
		       "no memory or no colliding keys");
		free(want);
		return;
	}
	i = lb_vip_slot_of(&a);
	/* b (not the owner) in lb_vips first, then a */
	bpf_map_update_elem(dp.vips, &b, &v, BPF_ANY);
	lb_dp_sync_vip_slots(&dp);
	bpf_map_lookup_elem(dp.vip_slots, &i, &got);
	T_CHECK("vipslot_sync_alone",
		got.flags == LB_VIP_SLOT_F_USED &&
			!memcmp(&got.key, &b, sizeof(b)),
		"slot %u: flags %#x", i, got.flags);
	bpf_map_update_elem(dp.vips, &a, &v, BPF_ANY);
	lb_dp_sync_vip_slots(&dp);
	bpf_map_lookup_elem(dp.vip_slots, &i, &got);
	T_CHECK("vipslot_sync_shared",
		got.flags == (LB_VIP_SLOT_F_USED | LB_VIP_SLOT_F_SHARED) &&
			!memcmp(&got.key, &a, sizeof(a)),
		"slot %u: flags %#x", i, got.flags);
	T_CHECK("vipslot_shared_both_forwarded",
		run_to(&a) == XDP_TX && run_to(&b) == XDP_TX,
		"owner: %s, other: %s (want XDP_TX both)",
		fx_action_name(run_to(&a)), fx_action_name(run_to(&b)));

	/* releasing b (not named) leaves the slot; releasing a empties it */
	lb_dp_vip_slot_release(&dp, &b, NULL);
	bpf_map_lookup_elem(dp.vip_slots, &i, &got);
	T_CHECK("vipslot_release_other_key_keeps", got.check != 0,
		"releasing a key the slot does not name emptied it");
	lb_dp_vip_slot_release(&dp, &a, NULL);
	bpf_map_lookup_elem(dp.vip_slots, &i, &got);
	T_CHECK("vipslot_release_empties", got.check == 0 && !got.flags,
		"releasing the named key left check %#x flags %#x", got.check,
		got.flags);
	bpf_map_delete_elem(dp.vips, &a);
	lb_dp_sync_vip_slots(&dp);
	bpf_map_lookup_elem(dp.vip_slots, &i, &got);
	T_CHECK("vipslot_owner_gone_other_alone",
		got.flags == LB_VIP_SLOT_F_USED &&
			!memcmp(&got.key, &b, sizeof(b)),
		"slot %u: flags %#x", i, got.flags);
	T_CHECK("vipslot_owner_gone_passed_other_forwarded",
		run_to(&a) == XDP_PASS && run_to(&b) == XDP_TX,
		"gone: %s (want XDP_PASS), other: %s (want XDP_TX)",
		fx_action_name(run_to(&a)), fx_action_name(run_to(&b)));
	lb_dp_vip_slot_release(&dp, &b, NULL);
	bpf_map_delete_elem(dp.vips, &b);
	lb_dp_sync_vip_slots(&dp);

	/* what the datapath holds is what lb_vips gives */
	{
		struct lb_vip_key *keys = calloc(LB_MAX_VIPS, sizeof(*keys));
		struct lb_vip *vals = calloc(LB_MAX_VIPS, sizeof(*vals));
		struct lb_vip_key k, next;
		uint32_t n = 0, bad = 0;

		for (int r = bpf_map_get_next_key(dp.vips, NULL, &next);
		     keys && vals && !r && n < LB_MAX_VIPS;
		     r = bpf_map_get_next_key(dp.vips, &k, &next)) {
			k = next;
			if (!bpf_map_lookup_elem(dp.vips, &k, &vals[n]))
				keys[n++] = k;
		}
		lb_vip_slots_build(keys, vals, n, want);
		for (uint32_t j = 0; j < LB_VIP_SLOTS; j++) {
			if (bpf_map_lookup_elem(dp.vip_slots, &j, &got) ||
			    memcmp(&got, &want[j], sizeof(got)))
				bad++;
		}
		T_CHECK("vipslot_map_matches_lb_vips", n > 0 && !bad,
			"%u of %u slots differ from what %u VIPs give", bad,
			LB_VIP_SLOTS, n);
		free(keys);
		free(vals);
	}
	free(want);
	check_syn("vipslot_after_churn_forwards", 'D', "after the churn");
}

void fx_vip_slot_tests(void)
{
	test_datapath_reads_slots();
	test_build();
	test_shared_in_datapath();
}
