# Tests: tests/unit (pure user space), tests/bpf (packet fixtures through
# BPF_PROG_TEST_RUN), tests/net (shell, network namespaces).
UNIT_TESTS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(O)/tests/test_datapath $(O)/tests/test_pktfuzz
TEST_PROGS += $(UNIT_TESTS) $(BPF_TESTS)
DEPS += $(UNIT_TESTS:=.d) $(BPF_TESTS:=.d)

$(O)/tests/test_%: tests/unit/test_%.c $(LIBCOMMON) | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(DEPFLAGS) -MF $@.d $< $(LIBCOMMON) -o $@ $(PKG_LIBS) $(LDLIBS)

# the fixture runner and its tables (tests/bpf/fix_*.c)
FIX_SRCS := tests/bpf/test_datapath.c tests/bpf/pkt.c tests/bpf/dpsetup.c $(wildcard tests/bpf/fix_*.c)
$(O)/tests/test_datapath: $(FIX_SRCS) $(LIBCOMMON) $(SKELS) | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -Itests/bpf $(DEPFLAGS) -MF $@.d $(FIX_SRCS) $(LIBCOMMON) -o $@ $(PKG_LIBS) $(LDLIBS)

# the randomized packet test and its oracle
PKTFUZZ_SRCS := tests/bpf/test_pktfuzz.c tests/bpf/pkt.c tests/bpf/dpsetup.c
$(O)/tests/test_pktfuzz: $(PKTFUZZ_SRCS) $(LIBCOMMON) $(SKELS) | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -Itests/bpf $(DEPFLAGS) -MF $@.d $(PKTFUZZ_SRCS) $(LIBCOMMON) -o $@ $(PKG_LIBS) $(LDLIBS)

# "make fuzz" also runs the randomized packet test for FUZZ_PACKETS packets
# with a new seed each time (printed; LB_FUZZ_SEED=N runs one again).
FUZZ_PACKETS ?= 3000000
.PHONY: fuzz-datapath
fuzz: fuzz-datapath
fuzz-datapath: $(O)/tests/test_pktfuzz
	$(Q)LB_FUZZ_SEED=$${LB_FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} \
		LB_FUZZ_PACKETS=$(FUZZ_PACKETS) $(O)/tests/test_pktfuzz

# test_state exercises lbd's state file and its journal: it links lbd's
# state.o, journal.o and the check configuration they embed, which need
# nothing else of lbd.
LBD_STATE_OBJ := $(O)/obj/lbd/state.o $(O)/obj/lbd/journal.o \
		 $(O)/obj/lbd/check.o
$(O)/tests/test_state: tests/unit/test_state.c $(LBD_STATE_OBJ) $(LIBCOMMON) | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -Iuser/lbd $(DEPFLAGS) -MF $@.d $< $(LBD_STATE_OBJ) $(LIBCOMMON) -o $@ $(PKG_LIBS) $(LDLIBS)

# test_check: the health check configuration, from lbd's check.o
$(O)/tests/test_check: tests/unit/test_check.c $(O)/obj/lbd/check.o $(LIBCOMMON) | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -Iuser/lbd $(DEPFLAGS) -MF $@.d $< $(O)/obj/lbd/check.o $(LIBCOMMON) -o $@ $(PKG_LIBS) $(LDLIBS)
