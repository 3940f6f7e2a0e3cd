# lb-decap: attaches the decapsulation program on backend hosts (user/decap).
DECAP_SRCS := $(wildcard user/decap/*.c)
DECAP_OBJS := $(DECAP_SRCS:user/decap/%.c=$(O)/obj/decap/%.o)
PROGS += $(O)/lb-decap
DEPS += $(DECAP_OBJS:.o=.d)

$(O)/obj/decap/%.o: user/decap/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/lb-decap: $(DECAP_OBJS) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)
