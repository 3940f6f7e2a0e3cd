# Benchmarks (tools/bench): the floor, sink and generator XDP programs and
# the programs that drive them.  Run by `make bench` / `make bench-PART`
# through tools/bench/run.sh; built by `all` so that a benchmark never
# builds inside a measurement.
BENCH_BPF := bench_floor bench_sink bench_gen bench_slow
BENCH_BPF_OBJS := $(BENCH_BPF:%=$(O)/bench/%.bpf.o)
BENCH_SKELS := $(BENCH_BPF:%=$(O)/bench/%.skel.h)
BENCH_PROGS := $(O)/bench/bench_bpf $(O)/bench/bench_fwd \
	       $(O)/bench/bench_maglev $(O)/bench/bench_ctl \
	       $(O)/bench/bench_cache
BENCH_OBJS := $(O)/bench/bench_util.o $(O)/bench/pkt.o \
	      $(BENCH_PROGS:=.o)
DEPS += $(BENCH_BPF_OBJS:.o=.d) $(BENCH_OBJS:.o=.d)

BENCH_CFLAGS := -Itools/bench -Itests/bpf -I$(O)/bench

# made through pattern rules only: keep them, or every make rebuilds them
.SECONDARY: $(BENCH_BPF_OBJS) $(BENCH_SKELS)

$(O)/bench:
	$(Q)mkdir -p $@

$(O)/bench/%.bpf.o: tools/bench/%.bpf.c | $(O)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itools/bench $(DEPFLAGS) -c $< -o $@

$(O)/bench/%.skel.h: $(O)/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# Objects that include a skeleton must wait for it; -MMD then tracks it.
$(O)/bench/%.o: tools/bench/%.c | $(O)/bench $(SKELS) $(BENCH_SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(BENCH_CFLAGS) $(DEPFLAGS) -c $< -o $@

# the packet builder of the datapath fixtures
$(O)/bench/pkt.o: tests/bpf/pkt.c | $(O)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(BENCH_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/bench/bench_bpf: $(O)/bench/bench_bpf.o $(O)/bench/bench_util.o \
		      $(O)/bench/pkt.o $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)

$(O)/bench/bench_fwd: $(O)/bench/bench_fwd.o $(O)/bench/bench_util.o \
		      $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)

$(O)/bench/bench_maglev: $(O)/bench/bench_maglev.o $(O)/bench/bench_util.o \
			 $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)

# the lab-side tools of bench-control and bench-backend: libc only
$(O)/bench/bench_ctl $(O)/bench/bench_cache: $(O)/bench/%: $(O)/bench/%.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)
