// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_contract.c - the fleet contract: balancers of different versions run
 * side by side during a rolling upgrade, and agree on every flow only if the
 * flow hash, the Maglev permutation and the table digest never change.  The
 * expected values here are literals, computed once: any change to those
 * functions that would break agreement between versions fails this test.
 * (A deliberate change needs a new fleet-wide seed and a note in README.)
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "harness.h"
#include "lb_hash.h"
#include "maglev.h"

#define SEED_DEFAULT 0x8f2d5b1c6a3e9047ULL /* lbd's --hash-seed default */
#define SEED_OTHER 0x0123456789abcdefULL

/* the contract's values */
#define HASH_V4_TCP 0xab1f536aU
#define HASH_V4_TCP_NEXT 0x6fc21a14U
#define HASH_V4_UDP 0x068be493U
#define HASH_V4_OTHER_SEED 0x8cdbf236U
#define HASH_V4_SRC 0x506d36abU
#define HASH_V6_TCP 0x5fc6606eU
#define HASH_V6_SRC 0xf34944f7U
#define SLOT_V4_TCP 0xab1fU /* of 65537 */
#define KEY_10_0_0_11 0xab3cfb1cc84e74f1ULL
#define SLOTS_251 "341231344333124323234333" /* backend of slots 0..23 */
#define DIGEST_65537 0x0e175336491e7626ULL
#define DIGEST_65537_TEXT "0e175336491e7626"

static struct lb_flow flow4(const char *src, const char *dst, uint16_t sport,
			    uint16_t dport, uint8_t proto)
{
	struct lb_flow f = {};

	inet_pton(AF_INET, src, &f.src.v4);
	inet_pton(AF_INET, dst, &f.dst.v4);
	f.sport = htons(sport);
	f.dport = htons(dport);
	f.proto = proto;
	f.family = LB_FAMILY_V4;
	return f;
}

static struct lb_flow flow6(const char *src, const char *dst, uint16_t sport,
			    uint16_t dport, uint8_t proto)
{
	struct lb_flow f = {};

	inet_pton(AF_INET6, src, f.src.bytes);
	inet_pton(AF_INET6, dst, f.dst.bytes);
	f.sport = htons(sport);
	f.dport = htons(dport);
	f.proto = proto;
	f.family = LB_FAMILY_V6;
	return f;
}

static void check_u64(const char *name, uint64_t got, uint64_t want)
{
	T_CHECK(name, got == want, "got 0x%016llx, want 0x%016llx",
		(unsigned long long)got, (unsigned long long)want);
}

static void test_flow_hash(void)
{
	struct lb_flow a = flow4("198.51.100.7", "203.0.113.10", 40000, 80, 6);
	struct lb_flow b = flow4("198.51.100.7", "203.0.113.10", 40001, 80, 6);
	struct lb_flow u = flow4("192.0.2.1", "203.0.113.10", 5353, 53, 17);
	struct lb_flow c =
		flow6("2001:db8::7", "2001:db8:100::1", 40000, 443, 6);

	check_u64("contract_hash_v4_tcp", lb_hash_flow(&a, SEED_DEFAULT, 0),
		  HASH_V4_TCP);
	check_u64("contract_hash_v4_tcp_next_port",
		  lb_hash_flow(&b, SEED_DEFAULT, 0), HASH_V4_TCP_NEXT);
	check_u64("contract_hash_v4_udp", lb_hash_flow(&u, SEED_DEFAULT, 0),
		  HASH_V4_UDP);
	check_u64("contract_hash_v4_other_seed",
		  lb_hash_flow(&a, SEED_OTHER, 0), HASH_V4_OTHER_SEED);
	check_u64("contract_hash_v4_source_only",
		  lb_hash_flow(&a, SEED_DEFAULT, 1), HASH_V4_SRC);
	check_u64("contract_hash_v6_tcp", lb_hash_flow(&c, SEED_DEFAULT, 0),
		  HASH_V6_TCP);
	check_u64("contract_hash_v6_source_only",
		  lb_hash_flow(&c, SEED_DEFAULT, 1), HASH_V6_SRC);
	check_u64("contract_hash_slot",
		  lb_hash_slot(lb_hash_flow(&a, SEED_DEFAULT, 0), 65537),
		  SLOT_V4_TCP);
}

/* Backends as lbd keys them: maglev_key of the 16-byte address field. */
static void backend(struct maglev_backend *b, uint32_t id, const char *addr,
		    uint32_t weight)
{
	union lb_addr a = {};

	if (strchr(addr, ':'))
		inet_pton(AF_INET6, addr, a.bytes);
	else
		inet_pton(AF_INET, addr, &a.v4);
	b->id = id;
	b->weight = weight;
	b->key = maglev_key(&a, sizeof(a));
}

static uint64_t digest(const struct maglev_backend *b, size_t n,
		       uint32_t *table, uint32_t size)
{
	uint64_t d = 0;

	if (maglev_build(b, n, table, size) ||
	    lb_table_digest(b, n, table, size, &d))
		return 0;
	return d;
}

static void test_maglev(void)
{
	static uint32_t t1[65537], t2[65537];
	struct maglev_backend b[4], r[4];
	char slots[64] = "", text[LB_DIGEST_STRLEN];
	uint64_t d1, d2;

	backend(&b[0], 1, "10.0.0.11", 1);
	backend(&b[1], 2, "10.0.0.12", 1);
	backend(&b[2], 3, "10.0.0.13", 2);
	backend(&b[3], 4, "2001:db8::14", 1);
	check_u64("contract_maglev_key", b[0].key, KEY_10_0_0_11);

	/* the first slots of a small table, by backend */
	maglev_build(b, 4, t1, 251);
	for (int i = 0; i < 24; i++)
		slots[i] = (char)('0' + t1[i]);
	T_CHECK("contract_maglev_slots", !strcmp(slots, SLOTS_251),
		"got %s, want %s", slots, SLOTS_251);

	d1 = digest(b, 4, t1, 65537);
	check_u64("contract_digest_65537", d1, DIGEST_65537);
	lb_digest_format(d1, text, sizeof(text));
	T_CHECK("contract_digest_text", !strcmp(text, DIGEST_65537_TEXT),
		"got %s", text);

	/* other local ids and another order: the same table by address */
	r[0] = b[3], r[0].id = 40;
	r[1] = b[1], r[1].id = 7;
	r[2] = b[0], r[2].id = 9;
	r[3] = b[2], r[3].id = 1;
	d2 = digest(r, 4, t2, 65537);
	T_CHECK("contract_digest_ignores_ids_and_order", d1 == d2,
		"0x%016llx != 0x%016llx", (unsigned long long)d1,
		(unsigned long long)d2);

	/* ids past what a flat array holds: the same digest, by search */
	r[0].id = 100000;
	d2 = digest(r, 4, t2, 65537);
	T_CHECK("contract_digest_large_ids", d1 == d2, "0x%016llx != 0x%016llx",
		(unsigned long long)d1, (unsigned long long)d2);
	r[0].id = 40;

	/* a weight differs: the tables differ, and so do the digests */
	r[3].weight = 1;
	d2 = digest(r, 4, t2, 65537);
	T_CHECK("contract_digest_sees_a_weight", d2 && d1 != d2,
		"0x%016llx for both", (unsigned long long)d1);

	/* one slot given to another backend changes it */
	maglev_build(b, 4, t2, 65537);
	t2[30000] = t2[30000] == 1 ? 2 : 1;
	lb_table_digest(b, 4, t2, 65537, &d2);
	T_CHECK("contract_digest_sees_one_slot", d1 != d2, "same digest");
}

int main(void)
{
	test_flow_hash();
	test_maglev();
	return t_exit();
}
