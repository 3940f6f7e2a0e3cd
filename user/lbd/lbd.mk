# lbd: the daemon (user/lbd).
