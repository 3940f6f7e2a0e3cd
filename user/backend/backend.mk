# lb-backend: the pre-forked HTTP server (user/backend).
BACKEND_SRCS := $(wildcard user/backend/*.c)
BACKEND_OBJS := $(BACKEND_SRCS:user/backend/%.c=$(O)/backend/%.o)
PROGS += $(O)/lb-backend
DEPS += $(BACKEND_OBJS:.o=.d)

$(O)/backend:
	$(Q)mkdir -p $@

$(O)/backend/%.o: user/backend/%.c | $(O)/backend
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $(DEPFLAGS) -c $< -o $@

# libcommon gives the log, the JSON writer and the Prometheus exposition
# writer (log.o, json.o and json_write.o, prom.o, addr.o); none of them needs libbpf
$(O)/lb-backend: $(BACKEND_OBJS) $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -pthread $^ -o $@ $(LDLIBS)

# The unit tests of the parser and the cache link the objects they test.
# These explicit rules take precedence over the pattern rule of
# tests/tests.mk, which links only libcommon.
$(O)/tests/test_http: tests/unit/test_http.c $(O)/backend/http.o | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/backend -Itests/unit $(DEPFLAGS) -MF $@.d $< $(O)/backend/http.o -o $@ $(LDLIBS)

$(O)/tests/test_cache: tests/unit/test_cache.c $(O)/backend/cache.o | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -pthread -Iuser/backend -Itests/unit $(DEPFLAGS) -MF $@.d $< $(O)/backend/cache.o -o $@ $(LDLIBS)

# The HTTP parsing and the origin response reader under libFuzzer: "make fuzz" runs it for FUZZ_TIME
# seconds (tests/backend/t_fuzz.sh runs it briefly as part of "make test").
FUZZ_TIME ?= 300
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iuser/backend
.PHONY: fuzz

$(O)/fuzz/fuzz_http: tools/fuzz/fuzz_http.c user/backend/http.c user/backend/http.h \
		user/backend/origin_rx.c user/backend/origin.h
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tools/fuzz/fuzz_http.c user/backend/http.c user/backend/origin_rx.c -o $@

fuzz: $(O)/fuzz/fuzz_http
	$(Q)mkdir -p $(O)/fuzz/corpus
	$(Q)$(O)/fuzz/fuzz_http -max_total_time=$(FUZZ_TIME) -max_len=4096 \
		-artifact_prefix=$(O)/fuzz/ \
		$(O)/fuzz/corpus tools/fuzz/corpus

# The Redis client and the stored object format, without a server.
REDIS_TEST_OBJS := $(O)/backend/redis.o $(O)/backend/redis_addr.o $(O)/backend/resp.o $(O)/backend/rvalue.o $(O)/backend/rcluster.o
$(O)/tests/test_redis: tests/unit/test_redis.c $(REDIS_TEST_OBJS) | $(O)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/backend -Itests/unit $(DEPFLAGS) -MF $@.d $< $(REDIS_TEST_OBJS) -o $@ $(LDLIBS)
