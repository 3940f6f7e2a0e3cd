# lbctl: the command-line client (user/lbctl).
