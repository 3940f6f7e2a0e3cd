// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fix_layout.c - the map layouts as the datapath reads them, with keys and
 * tables written byte for byte here rather than through the helpers under
 * test: IPv4 flows to a VIP of one port as one word of lb_ct4, to a VIP of
 * every port in lb_conntrack4 under a 16-byte key, Maglev tables of 16-bit
 * backend ids 32 to a value; lb_ct4's resize and sweep; and a SYN flood
 * that must not evict established flows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "fixture.h"

#define X "198.51.100.2" /* v4_tcp's backends, as in fix_conntrack.c */
#define Y "198.51.100.1"

static void spec_tcp(struct pkt_spec *s, int family, const char *src,
		     const char *dst, uint16_t sport, uint16_t dport,
		     uint8_t flags)
{
	struct pkt_spec d = { FX_SPEC_DEFAULTS(family, src, dst, 6, sport,
					       dport) };

	d.tcp_flags = flags;
	*s = d;
}

/* Run a TCP packet; 0 and the backend id its MAC names, or -1. */
static int run_tcp(const struct pkt_spec *s, uint32_t *be_id)
{
	struct pkt in, out;

	pkt_build(s, &in);
	if (fx_run(fx_prog_fd, &in, &out) != XDP_TX)
		return -1;
	if (out.b[0] != 0x02 || out.b[1] != 0xbe || out.b[2] || out.b[3])
		return -1;
	*be_id = (uint32_t)out.b[4] << 8 | out.b[5];
	return 0;
}

/*
 * Golden lb_ct4 words (seed FX_SEED, v4_tcp's VIP id 0, a live part of
 * 4096 lines): the line and the bits above the word's value.
 */
#define CT4_A_LINE 1823 /* 192.0.2.230:45000 -> 203.0.113.10:80 */
#define CT4_A_TAG 0xfc63cf57a6840000ULL
#define CT4_B_LINE 214 /* 192.0.2.231:45001 -> 203.0.113.10:80 */
#define CT4_B_TAG 0x75716f26dae80000ULL

/* 192.0.2.232:45003 -> 203.0.113.20:8080, TCP (v4_all: every port), as
 * lb_conntrack4's key */
static const uint8_t key4_all[16] = { 192,  0,	  2,	232,  203, 0, 113, 20,
				      0xaf, 0xcb, 0x1f, 0x90, 6,   0, 0,   0 };

/* The word of line that has tag, else 0. */
static uint64_t ct4_word(uint32_t line, uint64_t tag)
{
	struct lb_ct4_line l;

	if (bpf_map_lookup_elem(dp.ct4, &line, &l))
		return 0;
	for (int i = 0; i < LB_CT4_WAYS; i++)
		if ((l.w[i] & ~((1ULL << LB_CT4_TAG_SHIFT) - 1)) == tag)
			return l.w[i];
	return 0;
}

static void test_conntrack4(void)
{
	struct lb_flow f6 = {};
	struct lb_conn c = {};
	struct pkt_spec s;
	uint32_t id = 0, y = fx_be_id(&v4_tcp, Y), line = CT4_B_LINE;
	struct lb_ct4_line l;
	uint64_t hits, w;

	/* a miss: the ACK that opens the flow writes one word, used */
	spec_tcp(&s, 4, "192.0.2.230", "203.0.113.10", 45000, 80, 0x10);
	if (run_tcp(&s, &id)) {
		t_fail("ct4_opening_ack_writes_one_word", "not forwarded");
	} else {
		w = ct4_word(CT4_A_LINE, CT4_A_TAG);
		T_CHECK("ct4_opening_ack_writes_one_word",
			(w & (LB_CT4_VALID | LB_CT4_REF)) ==
					(LB_CT4_VALID | LB_CT4_REF) &&
				(w & LB_CT4_ID_MASK) == id,
			"line %u holds %#llx, packet went to %u", CT4_A_LINE,
			(unsigned long long)w, id);
	}

	/* a hit: a word written here names Y while the table names X only */
	fx_only_backend(&v4_tcp, X);
	bpf_map_lookup_elem(dp.ct4, &line, &l);
	l.w[LB_CT4_WAYS - 1] = CT4_B_TAG | LB_CT4_VALID |
			       (1ULL << LB_CT4_GEN_SHIFT) | y;
	bpf_map_update_elem(dp.ct4, &line, &l, BPF_ANY);
	hits = fx_stat(LB_STAT_CT_HIT);
	spec_tcp(&s, 4, "192.0.2.231", "203.0.113.10", 45001, 80, 0x10);
	T_CHECK("ct4_hit_from_word",
		!run_tcp(&s, &id) && id == y &&
			fx_stat(LB_STAT_CT_HIT) == hits + 1 &&
			(ct4_word(CT4_B_LINE, CT4_B_TAG) & LB_CT4_REF),
		"went to backend %u, want %u (%s), or the hit did not mark "
		"the word",
		id, y, Y);
	fx_only_backend(&v4_tcp, NULL);

	/* a VIP of every port keeps its flows under the 16-byte key */
	spec_tcp(&s, 4, "192.0.2.232", "203.0.113.20", 45003, 8080, 0x10);
	{
		struct pkt in, out;

		pkt_build(&s, &in);
		T_CHECK("conntrack4_every_port_vip_compact_key",
			fx_run(fx_prog_fd, &in, &out) == XDP_TX &&
				!bpf_map_lookup_elem(dp.conntrack4, key4_all,
						     &c),
			"no entry under the flow's 16-byte key");
	}

	/* an IPv6 flow keeps its 40-byte key in lb_conntrack */
	spec_tcp(&s, 6, "2001:db8:c::230", "2001:db8:f::10", 45002, 80, 0x10);
	fx_addr_of("2001:db8:c::230", &f6.src);
	fx_addr_of("2001:db8:f::10", &f6.dst);
	f6.sport = htons(45002);
	f6.dport = htons(80);
	f6.proto = 6;
	f6.family = LB_FAMILY_V6;
	T_CHECK("conntrack_v6_full_key",
		!run_tcp(&s, &id) &&
			!bpf_map_lookup_elem(dp.conntrack, &f6, &c) &&
			c.backend_id == id,
		"no entry under the IPv6 flow's key in lb_conntrack");
}

/*
 * lb_ct4's upkeep: CT4_FLOWS flows opened on Y, the Maglev table then
 * naming X only: a flow that lost its word goes to X.
 */
#define CT4_FLOWS 3000

static void ct4_flow(int i, struct pkt_spec *s, uint8_t flags)
{
	char src[32];

	snprintf(src, sizeof(src), "10.77.%d.%d", i / 250, 1 + i % 250);
	spec_tcp(s, 4, src, "203.0.113.10", (uint16_t)(20000 + i), 80, flags);
}

/* Flows [from, to) sent once more; how many went to be_id. */
static int ct4_send(int from, int to, uint32_t be_id)
{
	struct pkt_spec s;
	uint32_t id;
	int n = 0;

	for (int i = from; i < to; i++) {
		ct4_flow(i, &s, 0x10);
		if (!run_tcp(&s, &id) && id == be_id)
			n++;
	}
	return n;
}

static void ct4_state_set(uint32_t bits, uint32_t old_bits)
{
	struct lb_ct4_state st = { bits, old_bits };
	uint32_t zero = 0;

	bpf_map_update_elem(dp.ct4_state, &zero, &st, BPF_ANY);
}

static void test_ct4_upkeep(void)
{
	uint32_t y = fx_be_id(&v4_tcp, Y);
	struct lb_ct4_resize_result rr;
	struct lb_ct4_sweep_result sr;
	struct lb_ct4_state st;
	uint32_t from = 0, to = 0;
	uint64_t evicted;
	int n, err;

	fx_only_backend(&v4_tcp, Y);
	ct4_send(0, CT4_FLOWS, y);
	fx_only_backend(&v4_tcp, X);

	/* halfway through a resize (the size in the state, the words still
	 * in their old lines) every flow is still found */
	ct4_state_set(LB_CT4_MIN_BITS + 1, LB_CT4_MIN_BITS);
	n = ct4_send(0, CT4_FLOWS, y);
	T_CHECK("ct4_found_in_old_line_during_resize", n == CT4_FLOWS,
		"%d of %d flows stayed on their backend", n, CT4_FLOWS);
	/* lbd's rule finishes a resize left half done, before anything */
	err = lb_dp_ct4_fit(&dp, 0, 0, UINT64_MAX, &rr, &from, &to);
	n = ct4_send(0, CT4_FLOWS, y);
	T_CHECK("ct4_half_done_resize_finished",
		err == 0 && !lb_dp_ct4_state(&dp, &st) &&
			st.bits == LB_CT4_MIN_BITS + 1 &&
			st.old_bits == st.bits && n == CT4_FLOWS,
		"fit: %d, state %u/%u, %d of %d flows stayed", err, st.bits,
		st.old_bits, n, CT4_FLOWS);

	/* the rule: grow when evictions pass one lookup in 256, shrink
	 * below an eighth full */
	err = lb_dp_ct4_fit(&dp, 3, 1000, UINT64_MAX, &rr, &from, &to);
	T_CHECK("ct4_fit_few_evictions_keep_size", err == 0,
		"3 evictions in 1000 lookups: %d", err);
	err = lb_dp_ct4_fit(&dp, 4, 1000, UINT64_MAX, &rr, &from, &to);
	T_CHECK("ct4_fit_evictions_grow",
		err == 1 && from == LB_CT4_MIN_BITS + 1 &&
			to == LB_CT4_MIN_BITS + 2 && !rr.dropped,
		"4 evictions in 1000 lookups: %d (%u -> %u)", err, from, to);
	err = lb_dp_ct4_fit(&dp, 0, 0, 1000, &rr, &from, &to);
	T_CHECK("ct4_fit_sparse_shrinks",
		err == 1 && to == LB_CT4_MIN_BITS + 1 && !rr.dropped &&
			ct4_send(0, CT4_FLOWS, y) == CT4_FLOWS,
		"1000 flows kept in %u words: %d (%u -> %u)",
		LB_CT4_WAYS << (LB_CT4_MIN_BITS + 2), err, from, to);

	err = lb_dp_ct4_resize(&dp, LB_CT4_MIN_BITS + 2, &rr);
	n = ct4_send(0, CT4_FLOWS, y);
	T_CHECK("ct4_grow_keeps_flows",
		!err && !lb_dp_ct4_state(&dp, &st) &&
			st.bits == LB_CT4_MIN_BITS + 2 &&
			st.old_bits == st.bits && rr.moved > CT4_FLOWS / 4 &&
			!rr.dropped && n == CT4_FLOWS,
		"resize: %s, %llu moved, %llu dropped; %d of %d flows stayed",
		strerror(-err), (unsigned long long)rr.moved,
		(unsigned long long)rr.dropped, n, CT4_FLOWS);

	err = lb_dp_ct4_resize(&dp, LB_CT4_MIN_BITS, &rr);
	n = ct4_send(0, CT4_FLOWS, y);
	T_CHECK("ct4_shrink_keeps_flows",
		!err && !lb_dp_ct4_state(&dp, &st) &&
			st.bits == LB_CT4_MIN_BITS && !rr.dropped &&
			n == CT4_FLOWS,
		"resize: %s, %llu moved, %llu dropped; %d of %d flows stayed",
		strerror(-err), (unsigned long long)rr.moved,
		(unsigned long long)rr.dropped, n, CT4_FLOWS);

	T_CHECK("ct4_resize_refuses_bad_size",
		lb_dp_ct4_resize(&dp, LB_CT4_MIN_BITS - 1, &rr) == -ERANGE &&
			lb_dp_ct4_resize(&dp, 31, &rr) == -ERANGE &&
			!lb_dp_ct4_state(&dp, &st) &&
			st.bits == LB_CT4_MIN_BITS,
		"a size out of range was not refused");

	/* two sweeps: the first marks every word unused, the half of the
	 * flows that sends again in between survives the second */
	err = lb_dp_ct4_sweep(&dp, &sr);
	ct4_send(0, CT4_FLOWS / 2, y);
	err = err ? err : lb_dp_ct4_sweep(&dp, &sr);
	n = ct4_send(0, CT4_FLOWS, y);
	T_CHECK("ct4_sweep_forgets_idle_flows",
		!err && sr.freed >= CT4_FLOWS / 2 && n == CT4_FLOWS / 2,
		"sweep: %s, %llu freed; %d flows stayed, want %d",
		strerror(-err), (unsigned long long)sr.freed, n, CT4_FLOWS / 2);

	/* more flows than the live part has words: new ones evict, and say
	 * so; the flows just opened are there */
	evicted = fx_stat(LB_STAT_CT_EVICT);
	fx_only_backend(&v4_tcp, Y);
	ct4_send(0, 40000, y);
	fx_only_backend(&v4_tcp, X);
	n = ct4_send(39900, 40000, y);
	T_CHECK("ct4_full_table_evicts_counted",
		fx_stat(LB_STAT_CT_EVICT) > evicted && n == 100,
		"%llu evictions, %d of the last 100 flows stayed",
		(unsigned long long)(fx_stat(LB_STAT_CT_EVICT) - evicted), n);
	fx_only_backend(&v4_tcp, NULL);
	/* two sweeps with no packet between forget them all */
	lb_dp_ct4_sweep(&dp, &sr);
	lb_dp_ct4_sweep(&dp, &sr);

	/* the words of one backend id forgotten, the others' kept */
	{
		uint32_t x = fx_be_id(&v4_tcp, X);
		uint8_t ids[LB_MAX_BACKENDS] = { 0 };
		uint64_t purged = 0;
		int on_y;

		fx_only_backend(&v4_tcp, Y);
		ct4_send(0, 100, y);
		fx_only_backend(&v4_tcp, X);
		ct4_send(100, 200, x);
		ids[x] = 1;
		err = lb_dp_ct4_purge(&dp, ids, LB_MAX_BACKENDS, &purged);
		/* the table names Y only now: X's flows move, Y's stay */
		fx_only_backend(&v4_tcp, Y);
		on_y = ct4_send(100, 200, y);
		fx_only_backend(&v4_tcp, X);
		n = ct4_send(0, 100, y);
		T_CHECK("ct4_purge_forgets_one_backend",
			!err && purged == 100 && n == 100 && on_y == 100,
			"purge: %s, %llu purged; %d of Y's 100 flows stayed, "
			"%d of X's moved",
			strerror(-err), (unsigned long long)purged, n, on_y);
		fx_only_backend(&v4_tcp, NULL);
		lb_dp_ct4_sweep(&dp, &sr);
		lb_dp_ct4_sweep(&dp, &sr);
	}
}

/*
 * A Maglev table of 65537 slots, 2049 values: every slot names A but 63
 * (the last id of value 1) and 65536 (alone in the last value), which name
 * the largest backend id.  Flows to 203.0.113.77:80 from 192.0.2.77 land
 * on these slots from these source ports (golden, seed FX_SEED).
 */
#define U16_SLOTS 65537
#define U16_LAST_ID (LB_MAX_BACKENDS - 1)
static const struct {
	uint16_t sport;
	uint32_t slot;
	int largest; /* the slot names U16_LAST_ID, else A */
} u16_flows[] = {
	{ 4284, 65536, 1 },
	{ 31353, 65535, 0 },
	{ 14860, 63, 1 },
	{ 42059, 64, 0 },
};

static struct tvip v4_u16 = {
	.addr = "203.0.113.77",
	.port = 80,
	.proto = 6,
	.nbe = 2,
	.be = { { "198.51.100.77", 1 }, { "198.51.100.78", 1 } },
};

static void test_maglev_u16(void)
{
	static uint32_t table[U16_SLOTS];
	uint32_t a, id, got;
	struct pkt_spec s;
	int bad = 0;

	if (fx_add_vip(&v4_u16) ||
	    fx_write_backend_id(U16_LAST_ID, v4_u16.be[1].addr, v4_u16.id,
				LB_BE_F_USABLE, 1)) {
		t_fail("maglev_u16_largest_id", "cannot add the VIP");
		return;
	}
	v4_u16.be[1].id = U16_LAST_ID;
	a = v4_u16.be[0].id;
	for (uint32_t i = 0; i < U16_SLOTS; i++)
		table[i] = a;
	for (size_t i = 0; i < sizeof(u16_flows) / sizeof(u16_flows[0]); i++)
		if (u16_flows[i].largest)
			table[u16_flows[i].slot] = U16_LAST_ID;
	if (lb_dp_install_table(&dp, v4_u16.id, table, U16_SLOTS)) {
		t_fail("maglev_u16_largest_id", "cannot install the table");
		return;
	}
	for (size_t i = 0; i < sizeof(u16_flows) / sizeof(u16_flows[0]); i++) {
		uint32_t want = u16_flows[i].largest ? U16_LAST_ID : a;

		spec_tcp(&s, 4, "192.0.2.77", "203.0.113.77",
			 u16_flows[i].sport, 80, 0x02);
		if (run_tcp(&s, &id) || id != want) {
			t_fail("maglev_u16_largest_id",
			       "port %u (slot %u) went to backend %u, want %u",
			       u16_flows[i].sport, u16_flows[i].slot, id, want);
			bad = 1;
			break;
		}
	}
	if (!bad)
		t_pass("maglev_u16_largest_id");

	/* read back as explain does: the last slot, and past the end */
	T_CHECK("maglev_u16_table_read_back",
		!lb_dp_table_lookup(&dp, v4_u16.id, U16_SLOTS - 1, &got) &&
			got == U16_LAST_ID &&
			!lb_dp_table_lookup(&dp, v4_u16.id, 0, &got) &&
			got == a &&
			lb_dp_table_lookup(&dp, v4_u16.id, 2049 * 32, &got) ==
				-ENOENT,
		"slot %u reads %u", U16_SLOTS - 1, got);

	/* an id that a 16-bit entry cannot hold is refused, and the table
	 * in place stays */
	table[5] = LB_MAX_BACKENDS;
	T_CHECK("maglev_u16_id_out_of_range_refused",
		lb_dp_install_table(&dp, v4_u16.id, table, U16_SLOTS) ==
				-ERANGE &&
			!lb_dp_table_lookup(&dp, v4_u16.id, 5, &got) &&
			got == a,
		"an id of %u was not refused", LB_MAX_BACKENDS);
}

/*
 * A SYN flood, more SYNs of new flows than the connection table holds,
 * must not evict established flows: a SYN never writes the table.  The
 * established flows then still go to their remembered backend while the
 * Maglev table names another one.
 */
#define FLOOD_ESTABLISHED 256

static void test_syn_flood(uint32_t ct_size)
{
	uint32_t x = fx_be_id(&v4_tcp, X), y = fx_be_id(&v4_tcp, Y), id;
	struct pkt_spec s;
	struct pkt in, out;
	char src[32];
	int lost = 0, moved = 0;

	/* established on Y */
	fx_only_backend(&v4_tcp, Y);
	for (int i = 0; i < FLOOD_ESTABLISHED; i++) {
		snprintf(src, sizeof(src), "192.0.2.%d", 1 + i % 250);
		spec_tcp(&s, 4, src, "203.0.113.10", (uint16_t)(46000 + i), 80,
			 0x10);
		run_tcp(&s, &id);
	}
	/* the flood: ct_size + ct_size / 4 SYNs from spoofed sources */
	for (uint32_t i = 0; i < ct_size + ct_size / 4; i++) {
		snprintf(src, sizeof(src), "10.%u.%u.%u", i >> 16 & 255,
			 i >> 8 & 255, i & 255);
		spec_tcp(&s, 4, src, "203.0.113.10", 1024, 80, 0x02);
		pkt_build(&s, &in);
		fx_run(fx_prog_fd, &in, &out);
	}
	/* the table now names X only: a flow that lost its entry moves */
	fx_only_backend(&v4_tcp, X);
	for (int i = 0; i < FLOOD_ESTABLISHED; i++) {
		struct lb_flow f = {};
		struct lb_conn c;

		snprintf(src, sizeof(src), "192.0.2.%d", 1 + i % 250);
		fx_addr_of(src, &f.src);
		fx_addr_of("203.0.113.10", &f.dst);
		f.sport = htons((uint16_t)(46000 + i));
		f.dport = htons(80);
		f.proto = 6;
		f.family = LB_FAMILY_V4;
		if (lb_dp_ct_lookup(&dp, &f, &c))
			lost++;
		spec_tcp(&s, 4, src, "203.0.113.10", (uint16_t)(46000 + i), 80,
			 0x10);
		if (run_tcp(&s, &id) || id != y)
			moved++;
	}
	fx_only_backend(&v4_tcp, NULL);
	T_CHECK("syn_flood_keeps_established_flows", !lost && !moved,
		"after %u SYNs %d of %d established flows lost their entry, "
		"%d left backend %u (X is %u)",
		ct_size + ct_size / 4, lost, FLOOD_ESTABLISHED, moved, y, x);
}

/*
 * lb_stats as user space reads it without lb_dp_stats: one entry, a block
 * of 32 (packets, bytes) pairs per CPU, counter k at byte 16 * k of the
 * block.  ctr_sum: packets (or bytes, at +8) of counter k over all CPUs.
 */
static uint64_t ctr_sum(const uint8_t *v, int ncpu, int k, int bytes)
{
	uint64_t sum = 0, x;

	for (int c = 0; c < ncpu; c++) {
		memcpy(&x, v + (size_t)c * 512 + 16 * k + (bytes ? 8 : 0),
		       sizeof(x));
		sum += x;
	}
	return sum;
}

static void test_stats_block(void)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), zero = 0, one = 1;
	int ncpu = libbpf_num_possible_cpus();
	uint8_t *before, *after;
	struct pkt_spec s;
	struct pkt in, out;
	int ok = 1;

	bpf_obj_get_info_by_fd(dp.stats, &info, &len);
	T_CHECK("stats_one_block_per_cpu",
		info.max_entries == 1 && info.value_size == 512 &&
			bpf_map_lookup_elem(dp.stats, &one, NULL) != 0,
		"lb_stats: %u entries of %u bytes", info.max_entries,
		info.value_size);
	before = calloc((size_t)ncpu, 512);
	after = calloc((size_t)ncpu, 512);
	if (!before || !after || bpf_map_lookup_elem(dp.stats, &zero, before)) {
		t_fail("stats_block_offsets", "cannot read lb_stats");
		goto out;
	}
	/* a packet to an address of no VIP: rx (0) and pass (1) */
	spec_tcp(&s, 4, "192.0.2.240", "203.0.113.250", 45010, 80, 0x10);
	pkt_build(&s, &in);
	if (fx_run(fx_prog_fd, &in, &out) != XDP_PASS)
		ok = 0;
	/* an established flow's packet: rx, tx (2), conntrack_miss (4) */
	spec_tcp(&s, 4, "192.0.2.240", "203.0.113.10", 45010, 80, 0x10);
	pkt_build(&s, &in);
	if (fx_run(fx_prog_fd, &in, &out) != XDP_TX)
		ok = 0;
	if (bpf_map_lookup_elem(dp.stats, &zero, after)) {
		t_fail("stats_block_offsets", "cannot read lb_stats");
		goto out;
	}
	T_CHECK("stats_block_offsets",
		ok &&
			ctr_sum(after, ncpu, 0, 0) -
					ctr_sum(before, ncpu, 0, 0) ==
				2 &&
			ctr_sum(after, ncpu, 0, 1) -
					ctr_sum(before, ncpu, 0, 1) ==
				2 * in.len &&
			ctr_sum(after, ncpu, 1, 0) -
					ctr_sum(before, ncpu, 1, 0) ==
				1 &&
			ctr_sum(after, ncpu, 2, 0) -
					ctr_sum(before, ncpu, 2, 0) ==
				1 &&
			ctr_sum(after, ncpu, 2, 1) -
					ctr_sum(before, ncpu, 2, 1) ==
				in.len &&
			ctr_sum(after, ncpu, 4, 0) -
					ctr_sum(before, ncpu, 4, 0) ==
				1 &&
			ctr_sum(after, ncpu, 3, 0) ==
				ctr_sum(before, ncpu, 3, 0),
		"rx +%llu, pass +%llu, tx +%llu, conntrack_miss +%llu",
		(unsigned long long)(ctr_sum(after, ncpu, 0, 0) -
				     ctr_sum(before, ncpu, 0, 0)),
		(unsigned long long)(ctr_sum(after, ncpu, 1, 0) -
				     ctr_sum(before, ncpu, 1, 0)),
		(unsigned long long)(ctr_sum(after, ncpu, 2, 0) -
				     ctr_sum(before, ncpu, 2, 0)),
		(unsigned long long)(ctr_sum(after, ncpu, 4, 0) -
				     ctr_sum(before, ncpu, 4, 0)));
out:
	free(before);
	free(after);
}

void fx_layout_tests(uint32_t ct_size)
{
	test_stats_block();
	test_conntrack4();
	test_ct4_upkeep();
	test_maglev_u16();
	test_syn_flood(ct_size);
}
