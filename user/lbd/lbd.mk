# lbd: the daemon (user/lbd).
LBD_SRCS := $(wildcard user/lbd/*.c)
LBD_OBJS := $(LBD_SRCS:user/lbd/%.c=$(O)/obj/lbd/%.o)
PROGS += $(O)/lbd
DEPS += $(LBD_OBJS:.o=.d)

$(O)/obj/lbd/%.o: user/lbd/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/lbd $(DEPFLAGS) -c $< -o $@

$(O)/lbd: $(LBD_OBJS) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) $(LDLIBS)
