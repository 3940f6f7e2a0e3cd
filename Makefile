# Non-recursive build of the load balancer: everything lands in $(O)/.
#   make            build the datapath, lbd, lbctl, lb-backend and the tests
#   make test       install missing packages, build, run every test
#   make demo       the whole system in network namespaces
#   make demo-fleet three balancers behind a BGP router, one failing
#   make bench      benchmarks (bench-bpf, ...)
#   make V=1        show full commands
O ?= build
PREFIX ?= /usr/local
DESTDIR ?=

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all test demo demo-fleet bench vmlinux format check-format install clean deps

all:

# ---------------------------------------------------------------- toolchain
# A bare machine has no clang or bpftool yet.  Every target that builds
# anything installs them first: when one is missing, make "remakes" the stamp
# below by running tools/deps.sh, then restarts and reads this file again
# with the toolchain in place.  Only clean, format, check-format and deps
# need nothing.
DEPS_SH ?= tools/deps.sh
NO_TOOLCHAIN_GOALS := clean format check-format deps
TOOLCHAIN_MISSING := $(strip \
	$(if $(shell command -v $(CLANG) 2>/dev/null),,$(CLANG)) \
	$(if $(shell command -v $(BPFTOOL) 2>/dev/null),,$(BPFTOOL)))

ifneq ($(TOOLCHAIN_MISSING),)
ifneq ($(or $(filter-out $(NO_TOOLCHAIN_GOALS),$(MAKECMDGOALS)),$(if $(MAKECMDGOALS),,all)),)
include $(O)/.toolchain
$(O)/.toolchain: FORCE
	@echo "toolchain: $(TOOLCHAIN_MISSING) not found; running $(DEPS_SH)"
	$(Q)$(DEPS_SH)
	$(Q)for t in $(CLANG) $(BPFTOOL); do \
		command -v $$t >/dev/null 2>&1 || \
		{ echo "toolchain: $$t still not found after $(DEPS_SH)" >&2; exit 1; }; \
	done
	$(Q)mkdir -p $(@D) && touch $@
endif
endif

.PHONY: FORCE
FORCE:

PKGS := libbpf libxdp libmnl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	  -D_GNU_SOURCE -Ibpf -Iuser/common -I$(O) $(PKG_CFLAGS)
DEPFLAGS = -MMD -MP
LDLIBS += -lm

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -Wall -Werror -Ivmlinux -Ibpf

DEPS :=

# ---------------------------------------------------------------- BPF
BPF_PROGS := lb decap pass
BPF_OBJS := $(BPF_PROGS:%=$(O)/bpf/%.bpf.o)
SKELS := $(BPF_PROGS:%=$(O)/%.skel.h)
DEPS += $(BPF_OBJS:.o=.d)

$(O)/bpf/%.bpf.o: bpf/%.bpf.c | $(O)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# ---------------------------------------------------------------- user/common
# libcore: what every program shares, without libbpf (log, json, addr,
# maglev, prom, rules, fsutil).  libcommon: libcore and the libbpf side
# (dp.c, ct4.c: the datapath's maps; libbpf_log.c: libbpf's messages in our log).
COMMON_SRCS := $(wildcard user/common/*.c)
COMMON_BPF_SRCS := user/common/dp.c user/common/ct4.c user/common/libbpf_log.c
CORE_SRCS := $(filter-out $(COMMON_BPF_SRCS),$(COMMON_SRCS))
COMMON_OBJS := $(COMMON_SRCS:user/common/%.c=$(O)/common/%.o)
CORE_OBJS := $(CORE_SRCS:user/common/%.c=$(O)/common/%.o)
COMMON_BPF_OBJS := $(COMMON_BPF_SRCS:user/common/%.c=$(O)/common/%.o)
LIBCORE := $(O)/libcore.a
LIBCOMMON := $(O)/libcommon.a
DEPS += $(COMMON_OBJS:.o=.d)

$(O)/common/%.o: user/common/%.c | $(O)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBCORE): $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBCOMMON): $(COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Objects that include a skeleton must wait for it.
$(COMMON_BPF_OBJS): | $(SKELS)

# ---------------------------------------------------------------- programs
PROGS :=
TEST_PROGS :=

# each component describes its own objects; still one make process
include user/lbd/lbd.mk
include user/lbctl/lbctl.mk
include user/decap/decap.mk
include user/backend/backend.mk
include tests/tests.mk
include tools/bench/bench.mk

all: $(BPF_OBJS) $(SKELS) $(PROGS) $(TEST_PROGS) $(BENCH_PROGS)

$(O) $(O)/bpf $(O)/common $(O)/tests:
	$(Q)mkdir -p $@

# ---------------------------------------------------------------- targets
deps:
	$(Q)$(DEPS_SH)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

test:
	$(Q)$(DEPS_SH)
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh $(O)

demo:
	$(Q)$(DEPS_SH)
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(O)

demo-fleet:
	$(Q)$(DEPS_SH)
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo_fleet.sh $(O)

bench:
	$(Q)$(DEPS_SH) --bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench/run.sh $(O) all

bench-%:
	$(Q)$(DEPS_SH) --bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench/run.sh $(O) $*

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' | grep -v '^vmlinux/')
format:
	clang-format -i $(FORMAT_SRCS)
check-format:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

MAN_PAGES := man/lbd.8 man/lbctl.8 man/lb-backend.8 man/lb-decap.8

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/xdp-lb \
		$(DESTDIR)/etc/systemd/system $(DESTDIR)$(PREFIX)/share/doc/xdp-lb \
		$(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 user/lbctl/lbctl.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/lbctl
	install -m 0644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/xdp-lb/
	sed 's|/usr/local|$(PREFIX)|g' user/lbd/lbd@.service > \
		$(DESTDIR)/etc/systemd/system/lbd@.service
	install -m 0644 README.md user/lbd/PROTOCOL.md \
		$(DESTDIR)$(PREFIX)/share/doc/xdp-lb/
	install -d $(DESTDIR)$(PREFIX)/share/doc/xdp-lb/bird
	install -m 0644 tools/bird/balancer.conf tools/bird/router.conf \
		$(DESTDIR)$(PREFIX)/share/doc/xdp-lb/bird/

clean:
	rm -rf $(O)

-include $(DEPS)
