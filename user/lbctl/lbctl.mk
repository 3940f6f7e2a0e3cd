# lbctl: the command-line client (user/lbctl).
LBCTL_SRCS := $(wildcard user/lbctl/*.c)
LBCTL_OBJS := $(LBCTL_SRCS:user/lbctl/%.c=$(O)/obj/lbctl/%.o)
PROGS += $(O)/lbctl
DEPS += $(LBCTL_OBJS:.o=.d)

$(O)/obj/lbctl/%.o: user/lbctl/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# lbctl needs no libbpf: it links libcore only
$(O)/lbctl: $(LBCTL_OBJS) $(LIBCORE)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
