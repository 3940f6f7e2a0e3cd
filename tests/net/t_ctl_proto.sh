#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The control protocol of lbd (user/lbd/PROTOCOL.md) against a real lbd in a
# lab, by a raw socket client and by lbctl:
#  - every command answers ok and does what it says;
#  - malformed requests (not JSON, not an object, unknown command, missing
#    fields, wrong types, oversized, incomplete) get a JSON error and change
#    nothing: the state file and `lbctl -j list` stay the same, lbd lives;
#  - many clients at once are all served; a client that connects and says
#    nothing does not hold up the others;
#  - non-root clients are refused (lbctl as nobody, and lbd's own check of
#    the peer's credentials);
#  - a change whose state file cannot be written is refused and undone;
#  - lbctl refuses bad input with one line naming the bad part (exit 1,
#    2 for usage errors), as JSON with -j, and says how to start lbd when it
#    is not running;
#  - lbd does not start on a corrupt state file and leaves it alone.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh" "${1:-build}"
# shellcheck source=../../tools/lab.sh
source "$HERE/../../tools/lab.sh"

need_root
need_built lbd lbctl bpf/pass.bpf.o
# the system python: quick to start, and nobody may run it
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || skip "python3 missing"
need_cmd setpriv sha256sum

NAME=$(unique_name ctl)
R=$LAB_RUN/$NAME
SOCK=$R/lbd.sock
STATE=$R/state.json
PIN=$R/bpf/lb
LBCTL=$O/lbctl
tmp_dir T t_ctl_proto
chmod 755 "$T" # nobody runs the client from here
BLOCKER=

cleanup() {
	[ -n "$BLOCKER" ] && rmdir "$BLOCKER" 2>/dev/null
	[ -S "$SOCK" ] && chmod 600 "$SOCK" 2>/dev/null
	lab_exec "$NAME" lb "$O/lbd" --iface eth0 --pin "$PIN" --detach \
		>/dev/null 2>&1
	lab_down "$NAME"
}
on_exit cleanup

# ---------------------------------------------------------------- client
# The raw client: one request per connection, as lbd wants it.  DATA
# arguments take Python escapes (\n, \x00, \xff); a newline is appended
# unless --raw is given.
cat >"$T/ctl.py" <<'EOF'
import json, os, socket, sys, threading, time

def data_of(s, raw):
    b = s.encode("latin-1").decode("unicode_escape").encode("latin-1")
    return b if raw else b + b"\n"

def talk(sock, data, shut=False, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    s.close()
    return out

def answer(out):
    """The one JSON object lbd answers with, or a reason why it is not."""
    if not out.endswith(b"\n") or out.count(b"\n") != 1:
        return None, "not exactly one line: %r" % out[:200]
    try:
        r = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return None, "not valid JSON (%s): %r" % (e, out[:200])
    if not isinstance(r, dict) or not isinstance(r.get("ok"), bool):
        return None, "no \"ok\" member: %r" % out[:200]
    return r, None

def expect_error(out, needle):
    r, why = answer(out)
    if why:
        return why
    if r["ok"] or not isinstance(r.get("error"), str) or not r["error"]:
        return "not an error: %r" % out[:200]
    if needle.lower() not in r["error"].lower():
        return "error %r does not say %r" % (r["error"], needle)
    return None

def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "err":  # SOCK DATA NEEDLE [--raw] [--shut]
        out = talk(a[0], data_of(a[1], "--raw" in a), "--shut" in a)
        why = expect_error(out, a[2])
        if why:
            print(why)
            sys.exit(1)
    elif cmd == "ok":  # SOCK JSON [PYEXPR on r]
        r, why = answer(talk(a[0], data_of(a[1], False)))
        if why or not r["ok"]:
            print(why or "refused: %s" % r.get("error"))
            sys.exit(1)
        if len(a) > 2 and not eval(a[2], {"r": r}):
            print("answer does not satisfy %s: %s" % (a[2], json.dumps(r)[:400]))
            sys.exit(1)
    elif cmd == "state":  # PATH PYEXPR on s
        s = json.load(open(a[0]))
        if not eval(a[1], {"s": s}):
            print("state file does not satisfy %s" % a[1])
            sys.exit(1)
    elif cmd == "big":  # SOCK BYTES
        n = int(a[1])
        line = b'{"cmd":"list","pad":"' + b"x" * n + b'"}\n'
        why = expect_error(talk(a[0], line), "too large")
        if why:
            print(why)
            sys.exit(1)
    elif cmd == "norm":  # lbctl -j list on stdin: the configuration only
        r = json.load(sys.stdin)
        keep = [(v["vip"], v["mode"], v["hash"], v["table_size"], v["id"],
                 [(b["backend"], b["weight"], b["id"]) for b in v["backends"]])
                for v in r["vips"]]
        print(json.dumps(keep))
    elif cmd == "jsonerr":  # NEEDLE; lbctl -j output on stdin
        out = sys.stdin.read()
        lines = out.splitlines()
        try:
            r = json.loads(lines[0]) if len(lines) == 1 else None
        except ValueError:
            r = None
        if not isinstance(r, dict) or a[0].lower() not in str(r.get("error", "")).lower():
            print("not one JSON error naming %r: %r" % (a[0], out[:300]))
            sys.exit(1)
        # one shape for lbctl's own errors and lbd's: {"ok":false,"error":...}
        if r.get("ok") is not False:
            print("JSON error without \"ok\": false: %r" % out[:300])
            sys.exit(1)
    elif cmd == "concurrent":  # SOCK N: N clients at once, half malformed
        sock, n = a[0], int(a[1])
        conns, bad = [], []
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(20)
            s.connect(sock)
            conns.append(s)
        for i, s in enumerate(conns):
            s.sendall(b'{"cmd":"list"}\n' if i % 2 else b'{"cmd":\n')
        for i, s in enumerate(conns):
            out = b""
            while not out.endswith(b"\n"):
                b = s.recv(65536)
                if not b:
                    break
                out += b
            s.close()
            r, why = answer(out)
            if why or r["ok"] != bool(i % 2):
                bad.append("client %d: %s" % (i, why or out[:100]))
        if bad:
            print("; ".join(bad[:3]), "(%d of %d)" % (len(bad), n))
            sys.exit(1)
    elif cmd == "silent":  # SOCK N: N silent clients, then a real one
        sock, n = a[0], int(a[1])
        quiet = []
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            quiet.append(s)
        # a client that sent half a line and stalls is the same case
        quiet[-1].sendall(b'{"cmd":"sta')
        out = talk(sock, b'{"cmd":"status"}\n', timeout=30)
        r, why = answer(out)
        # were the silent clients dropped before the real one was served?
        dropped = 0
        for s in quiet:
            s.setblocking(False)
            try:
                if s.recv(4096) is not None:
                    dropped += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                dropped += 1
            s.close()
        if why or not r["ok"]:
            print("status not answered: %s" % (why or r.get("error")))
            sys.exit(1)
        if dropped:
            print("status was answered only after lbd had waited for and "
                  "dropped %d of %d silent clients" % (dropped, n))
            sys.exit(1)
    elif cmd == "stale":  # PATH: a socket file nobody listens on
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(a[0])
        s.close()

main()
EOF
ctl() { "$PY" "$T/ctl.py" "$@"; }

# ---------------------------------------------------------------- lab
lab_up "$NAME" --backends 1 --build "$O" >/dev/null ||
	{ echo "FAIL lab: cannot set up the lab"; exit 1; }
lb() { lab_exec "$NAME" lb "$@"; }
# --journal-max 0: every change rewrites the state file, which the tests
# below read ("persisted") and make unwritable ("save fails"); the journal
# has its own tests (test_state, t_lbd)
start_lbd() {
	lb "$O/lbd" --iface eth0 --state "$STATE" --socket "$SOCK" \
		--pin "$PIN" --log "$R/lbd.log" --journal-max 0
}
if ! start_lbd 2>"$T/lbd.err"; then
	echo "FAIL start: lbd did not start: $(cat "$T/lbd.err")"
	exit 1
fi
LBD_PID=$($LBCTL -S "$SOCK" -j status |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["pid"])')

q() { "$LBCTL" -S "$SOCK" "$@" >/dev/null 2>"$T/q.err" || {
	echo "FAIL setup: lbctl $*: $(cat "$T/q.err")"
	exit 1
}; }
q add-backend 10.200.100.1:80/tcp 10.200.0.11
q vip add '[fd00:200:100::1]:443/tcp' --hash src --table-size 251
q backend add '[fd00:200:100::1]:443/tcp' fd00:200::11 --weight 3
q vip add 10.200.100.2/udp --mode ipip
q backend add 10.200.100.2/udp fd00:200::11 --weight 10000
q backend drain 10.200.100.2/udp fd00:200::11

# snap: what must not change, the state file's bytes and the configuration
# lbd reports
snap() {
	sha256sum <"$STATE"
	"$LBCTL" -S "$SOCK" -j list | ctl norm
}
BASE=$(snap)
# unchanged NAME: the state and lbd are as before
unchanged() {
	local now
	if ! kill -0 "$LBD_PID" 2>/dev/null; then
		fail "$1" "lbd died"
		echo "FAIL lbd: died; the rest cannot run"
		tail -5 "$R/lbd.log"
		exit 1
	fi
	now=$(snap)
	if [ "$now" != "$BASE" ]; then
		if [ "$(tail -1 <<<"$now")" = "$(tail -1 <<<"$BASE")" ]; then
			fail "$1: nothing changed" "the state file changed"
		else
			fail "$1: nothing changed" "the configuration is now $(tail -1 <<<"$now")"
		fi
		BASE=$now # report each change once
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------- valid
# ok NAME JSON [PYEXPR]: the request is answered ok (and r satisfies PYEXPR)
ok() {
	local out
	if out=$(ctl ok "$SOCK" "$2" "${3:-True}"); then
		pass "$1"
	else
		fail "$1" "$out"
	fi
}
# persisted NAME PYEXPR: the state file (s) satisfies PYEXPR
persisted() {
	local out
	if out=$(ctl state "$STATE" "$2"); then
		pass "$1"
	else
		fail "$1" "$out"
	fi
}
V=10.200.100.3:8080/tcp
VS="[v for v in s['vips'] if v['vip']=='$V']"
ok "ok status" '{"cmd":"status"}' \
	"r['iface']=='eth0' and r['pid']==$LBD_PID and r['vips']==3"
ok "ok vip-add" '{"cmd":"vip-add","vip":"'$V'","mode":"dsr","hash":"5tuple","table_size":251}' \
	"r['vip']['vip']=='$V' and r['vip']['table_size']==251"
persisted "vip-add persisted" "${VS}[0]['table_size']==251 and ${VS}[0]['mode']=='dsr'"
ok "ok vip-list" '{"cmd":"vip-list"}' \
	"'$V' in [v['vip'] for v in r['vips']] and len(r['vips'])==4"
ok "ok backend-add" '{"cmd":"backend-add","vip":"'$V'","backend":"10.200.0.11","weight":7}' \
	"r['vip']['backends'][0]['weight']==7"
ok "ok backend-weight" '{"cmd":"backend-weight","vip":"'$V'","backend":"10.200.0.11","weight":9}' \
	"r['vip']['backends'][0]['weight']==9"
persisted "backend-weight persisted" "${VS}[0]['backends'][0]['weight']==9"
ok "ok backend-drain" '{"cmd":"backend-drain","vip":"'$V'","backend":"10.200.0.11"}' \
	"r['vip']['backends'][0]['table_weight']==0"
persisted "backend-drain persisted" "${VS}[0]['backends'][0]['admin']=='draining'"
ok "ok backend-undrain" '{"cmd":"backend-undrain","vip":"'$V'","backend":"10.200.0.11"}'
persisted "backend-undrain persisted" "${VS}[0]['backends'][0]['admin']=='active'"
ok "ok vip-show" '{"cmd":"vip-show","vip":"'$V'"}' \
	"r['vip']['backends'][0]['backend']=='10.200.0.11' and 'packets' in r['vip']"
ok "ok explain" '{"cmd":"explain","src":"10.200.0.10:40000","dst":"10.200.100.3:8080","proto":"tcp"}' \
	"r['vip_match'] and r['vip']=='$V' and r['slot']<251"
ok "ok explain no VIP" '{"cmd":"explain","src":"10.200.0.10:40000","dst":"10.200.100.3:8081","proto":"udp"}' \
	"r['vip_match'] is False"
ok "ok stats" '{"cmd":"stats"}' "isinstance(r['global'], dict) and len(r['vips'])==4"
ok "ok list" '{"cmd":"list"}' "len(r['vips'])==4 and all('backends' in v for v in r['vips'])"
ok "ok add-backend creates the VIP" \
	'{"cmd":"add-backend","vip":"10.200.100.4:53/udp","backend":"10.200.0.11","weight":2,"mode":"ipip","hash":"src"}' \
	"r['vip']['mode']=='ipip' and r['vip']['hash']=='src'"
ok "ok add-backend to an existing VIP" \
	'{"cmd":"add-backend","vip":"10.200.100.4:53/udp","backend":"fd00:200::11"}' \
	"r['vip']['backends_total']==2"
ok "ok backend-del" '{"cmd":"backend-del","vip":"'$V'","backend":"10.200.0.11"}' \
	"r['vip']['backends']==[]"
ok "ok vip-del" '{"cmd":"vip-del","vip":"'$V'"}' "r=={'ok': True}"
ok "ok vip-del with backends" '{"cmd":"vip-del","vip":"10.200.100.4:53/udp"}'
ok "ok extra members are ignored" '{"cmd":"status","comment":"x"}'
now=$(snap)
if [ "$(echo "$now" | tail -1)" = "$(echo "$BASE" | tail -1)" ]; then
	pass "configuration back after the valid requests"
else
	fail "configuration back after the valid requests" "$now"
fi
BASE=$now

# ---------------------------------------------------------------- malformed
# bad NAME DATA NEEDLE [--raw] [--shut]: a JSON error saying NEEDLE, and
# nothing changed
bad() {
	local name=$1 data=$2 needle=$3 out
	shift 3
	if out=$(ctl err "$SOCK" "$data" "$needle" "$@"); then
		unchanged "$name" && pass "$name"
	else
		fail "$name" "$out"
		unchanged "$name"
	fi
}
VIP=10.200.100.1:80/tcp
bad "malformed not JSON" 'hello' "malformed"
bad "malformed empty line" '' "malformed"
bad "malformed JSON array" '[{"cmd":"vip-del","vip":"'$VIP'"}]' 'missing "cmd"'
bad "malformed JSON string" '"vip-del"' 'missing "cmd"'
bad "malformed JSON number" '42' 'missing "cmd"'
bad "malformed truncated object" '{"cmd":"vip-del","vip":"'$VIP'"' "malformed"
bad "malformed trailing garbage" '{"cmd":"vip-del","vip":"'$VIP'"} x' "trailing"
bad "malformed two objects" '{"cmd":"list"}{"cmd":"vip-del","vip":"'$VIP'"}' "trailing"
bad "malformed duplicate key" '{"cmd":"list","cmd":"vip-del","vip":"'$VIP'"}' "duplicate"
bad "malformed NUL byte" '{"cmd":"vip-del",\x00"vip":"'$VIP'"}' "malformed"
bad "malformed control character" '{"cmd":"vip\x01del","vip":"'$VIP'"}' "control"
bad "malformed bad escape" '{"cmd":"vip-d\\el","vip":"'$VIP'"}' "escape"
bad "malformed invalid UTF-8" '{"cmd":"vip-del\xff","vip":"'$VIP'"}' ""
bad "unknown command" '{"cmd":"vip-delete","vip":"'$VIP'"}' "unknown command 'vip-delete'"
bad "missing cmd" '{"vip":"'$VIP'"}' 'missing "cmd"'
bad "cmd not a string" '{"cmd":["vip-del"],"vip":"'$VIP'"}' 'missing "cmd"'
bad "missing vip" '{"cmd":"vip-del"}' "missing VIP"
bad "missing vip of vip-add" '{"cmd":"vip-add","mode":"dsr"}' "missing VIP"
bad "missing backend" '{"cmd":"backend-del","vip":"'$VIP'"}' "backend"
bad "missing weight" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11"}' "missing weight"
bad "missing src of explain" '{"cmd":"explain","dst":"10.200.100.1:80","proto":"tcp"}' "source"
bad "missing proto of explain" '{"cmd":"explain","src":"10.200.0.10:1","dst":"10.200.100.1:80"}' "protocol"
bad "vip not a string" '{"cmd":"vip-del","vip":167535617}' "VIP"
bad "backend not a string" '{"cmd":"backend-del","vip":"'$VIP'","backend":["10.200.0.11"]}' "backend"
bad "weight a string" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11","weight":"5"}' "must be a number"
bad "weight negative" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11","weight":-1}' "weight"
bad "weight fraction" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11","weight":1.5}' "1.5"
bad "weight too big" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11","weight":10001}' "10001"
bad "weight huge" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11","weight":1e300}' "weight"
bad "weight null" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11","weight":null}' "weight"
bad "mode not a string" '{"cmd":"vip-add","vip":"10.200.100.21:80/tcp","mode":1}' "mode"
bad "hash not a string" '{"cmd":"vip-add","vip":"10.200.100.22:80/tcp","hash":true}' "hash"
bad "unknown mode" '{"cmd":"vip-add","vip":"10.200.100.23:80/tcp","mode":"nat"}' "unknown mode 'nat'"
bad "unknown hash" '{"cmd":"vip-add","vip":"10.200.100.24:80/tcp","hash":"dst"}' "unknown hash 'dst'"
bad "table size a string" '{"cmd":"vip-add","vip":"10.200.100.25:80/tcp","table_size":"251"}' "table size"
bad "table size not prime" '{"cmd":"vip-add","vip":"10.200.100.26:80/tcp","table_size":250}' "not prime (try 251)"
bad "table size too small" '{"cmd":"vip-add","vip":"10.200.100.27:80/tcp","table_size":2}' "table size"
bad "table size too big" '{"cmd":"vip-add","vip":"10.200.100.28:80/tcp","table_size":655379}' "table size"
bad "bad VIP address" '{"cmd":"vip-add","vip":"10.200.100.300:80/tcp"}' "10.200.100.300"
bad "bad VIP port" '{"cmd":"vip-add","vip":"10.200.100.9:65536/tcp"}' "65536"
bad "bad VIP protocol" '{"cmd":"vip-add","vip":"10.200.100.9:80/sctp"}' "sctp"
bad "VIP exists" '{"cmd":"vip-add","vip":"'$VIP'"}' "already exists"
bad "unknown VIP" '{"cmd":"vip-show","vip":"10.200.100.99:80/tcp"}' "unknown VIP 10.200.100.99:80/tcp"
bad "unknown backend" '{"cmd":"backend-drain","vip":"'$VIP'","backend":"10.200.0.12"}' "10.200.0.12 is not in VIP"
bad "duplicate backend" '{"cmd":"backend-add","vip":"'$VIP'","backend":"10.200.0.11"}' "already in VIP"
bad "IPv6 backend behind DSR IPv4 VIP" '{"cmd":"backend-add","vip":"'$VIP'","backend":"fd00:200::11"}' "direct server return"
bad "IPv6 backend behind new DSR IPv4 VIP" '{"cmd":"add-backend","vip":"10.200.100.30:80/tcp","backend":"fd00:200::11"}' "direct server return"
bad "IPv4 backend behind IPv6 VIP" '{"cmd":"backend-add","vip":"[fd00:200:100::1]:443/tcp","backend":"10.200.0.11"}' "IPv4"
bad "weight 1e3" '{"cmd":"backend-weight","vip":"'$VIP'","backend":"10.200.0.11","weight":1e3}' "must be written as an integer"
bad "table size 61.0" '{"cmd":"vip-add","vip":"10.200.100.31:80/tcp","table_size":61.0}' "table size must be written as an integer"
bad "table size 1e3" '{"cmd":"vip-add","vip":"10.200.100.31:80/tcp","table_size":1e3}' "must be written as an integer"
bad "backend is the VIP" '{"cmd":"backend-add","vip":"'$VIP'","backend":"10.200.100.1"}' "is the address of VIP 10.200.100.1:80/tcp itself"
bad "backend is the VIP of a new VIP" '{"cmd":"add-backend","vip":"10.200.100.32/udp","backend":"10.200.100.32"}' "itself"
bad "backend is the balancer" '{"cmd":"backend-add","vip":"'$VIP'","backend":"10.200.0.2"}' "address of this balancer (on eth0)"
bad "backend is the balancer, IPv6" '{"cmd":"backend-add","vip":"[fd00:200:100::1]:443/tcp","backend":"fd00:200::2"}' "address of this balancer"
bad "backend is the balancer's loopback" '{"cmd":"add-backend","vip":"10.200.100.33:80/tcp","backend":"::1","mode":"ipip"}' "backend"
bad "explain mixed families" '{"cmd":"explain","src":"10.200.0.10:1","dst":"[fd00:200:100::1]:443","proto":"tcp"}' "families"
bad "incomplete request" '{"cmd":"vip-del","vip":"'$VIP'"}' "incomplete" --raw --shut
bad "empty request" '' "incomplete" --raw --shut
if out=$(ctl big "$SOCK" 16777300); then
	unchanged "oversized request" && pass "oversized request"
else
	fail "oversized request" "$out"
fi

# ---------------------------------------------------------------- clients
if out=$(ctl concurrent "$SOCK" 60); then
	unchanged "60 concurrent clients" && pass "60 concurrent clients"
else
	fail "60 concurrent clients" "$out"
fi
if out=$(ctl silent "$SOCK" 3); then
	pass "silent clients do not hold up others"
else
	fail "silent clients do not hold up others" "$out"
fi
unchanged "silent clients"

# ---------------------------------------------------------------- non-root
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
for args in "list" "del-backend $VIP 10.200.0.11" "vip del $VIP"; do
	# shellcheck disable=SC2086
	out=$($NOBODY "$LBCTL" -S "$SOCK" $args 2>&1)
	rc=$?
	name="lbctl as nobody: $args"
	if [ $rc -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] &&
		[[ $out == *"permission denied"* ]] && [[ $out == *root* ]]; then
		unchanged "$name" && pass "$name"
	else
		fail "$name" "exit $rc: $out"
	fi
done
# lbd checks the peer itself, whatever the socket's mode
chmod 666 "$SOCK"
for req in '{"cmd":"list"}' '{"cmd":"vip-del","vip":"'$VIP'"}'; do
	name="lbd refuses a non-root peer: $req"
	if out=$($NOBODY "$PY" "$T/ctl.py" err "$SOCK" "$req" "only root"); then
		unchanged "$name" && pass "$name"
	else
		fail "$name" "$out"
		unchanged "$name"
	fi
done
chmod 600 "$SOCK"

# ---------------------------------------------------------------- save fails
# A directory where lbd writes its temporary state file: the save fails.
BLOCKER=$STATE.tmp.$LBD_PID
mkdir "$BLOCKER"
for args in "add-backend 10.200.100.9:80/tcp 10.200.0.11" \
	"backend add $VIP 10.200.0.12" "backend weight $VIP 10.200.0.11 5" \
	"backend drain $VIP 10.200.0.11" "del-backend $VIP 10.200.0.11" \
	"vip add 10.200.100.9:80/tcp" "vip del $VIP"; do
	name="unsaved change undone: $args"
	# shellcheck disable=SC2086
	out=$("$LBCTL" -S "$SOCK" $args 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [[ $out == *"change not made"* ]]; then
		unchanged "$name" && pass "$name"
	else
		fail "$name" "exit $rc: $out"
		unchanged "$name"
	fi
done
rmdir "$BLOCKER"
BLOCKER=
if "$LBCTL" -S "$SOCK" backend weight $VIP 10.200.0.11 4 >/dev/null 2>&1 &&
	ctl state "$STATE" "s['vips'][0]['backends'][0]['weight']==4" >/dev/null; then
	pass "saves work again"
else
	fail "saves work again" "weight change not saved"
fi
"$LBCTL" -S "$SOCK" backend weight $VIP 10.200.0.11 1 >/dev/null 2>&1
BASE=$(snap)

# ---------------------------------------------------------------- lbctl
# cli NAME RC NEEDLE ARGS...: lbctl refuses with exit RC and a first line
# naming NEEDLE (only line for RC 1), as JSON with -j, and changes nothing
cli() {
	local name="lbctl $1" want=$2 needle=$3 out err rc
	shift 3
	out=$("$LBCTL" -S "$SOCK" "$@" 2>"$T/err")
	rc=$?
	err=$(cat "$T/err")
	if [ $rc -ne "$want" ]; then
		fail "$name" "exit $rc, want $want: $err"
	elif [ -n "$out" ]; then
		fail "$name" "output on stdout: $out"
	elif [[ $(head -1 <<<"$err") != "lbctl: "*"$needle"* ]]; then
		fail "$name" "error '$err' does not name '$needle'"
	elif [ "$want" -eq 1 ] && [ "$(wc -l <<<"$err")" -ne 1 ]; then
		fail "$name" "more than one line: $err"
	elif ! out=$("$LBCTL" -j -S "$SOCK" "$@" 2>/dev/null | ctl jsonerr "$needle"); then
		fail "$name" "with -j: $out"
	elif rc=$("$LBCTL" -j -S "$SOCK" "$@" >/dev/null 2>&1; echo $?) &&
		[ "$rc" -ne "$want" ]; then
		fail "$name" "with -j exit $rc, want $want"
	else
		unchanged "$name" && pass "$name"
		return
	fi
	unchanged "$name"
}
cli "bad VIP address" 1 "10.200.100.300" add-backend 10.200.100.300:80/tcp 10.200.0.11
cli "bad backend address" 1 "10.200.0.300" add-backend $VIP 10.200.0.300
cli "hostname as backend" 1 "backend.example" backend add $VIP backend.example
cli "IPv6 VIP without brackets and a port" 1 "2001:db8:1:2:3:4:5:6:80" \
	vip add 2001:db8:1:2:3:4:5:6:80/tcp
cli "IPv4 address in brackets" 1 "10.200.100.40" vip add '[10.200.100.40]:80/tcp'
cli "IPv4 backend behind IPv6 VIP" 1 "IPv4 backend 10.200.0.11" \
	add-backend '[fd00:200:100::1]:443/tcp' 10.200.0.11
cli "IPv6 backend behind DSR IPv4 VIP" 1 "direct server return" \
	backend add $VIP fd00:200::11
cli "IPv6 backend behind new DSR IPv4 VIP" 1 "direct server return" \
	add-backend 10.200.100.9:80/tcp fd00:200::11
cli "mixed families in explain" 1 "families" \
	explain 10.200.0.10:1234 '[fd00:200:100::1]:443' tcp
cli "port out of range" 1 "65536" add-backend 10.200.100.1:65536/tcp 10.200.0.11
cli "port 0" 1 "port 0" vip add 10.200.100.9:0/tcp
cli "port not a number" 1 "http" vip add 10.200.100.9:http/tcp
cli "explain port out of range" 1 "70000" explain 10.200.0.10:70000 10.200.100.1:80 tcp
cli "unknown protocol" 1 "sctp" add-backend 10.200.100.1:80/sctp 10.200.0.11
cli "missing protocol" 1 "/tcp or /udp" vip add 10.200.100.9:80
cli "unknown protocol in explain" 1 "icmp" explain 10.200.0.10:1 10.200.100.1:80 icmp
cli "unknown VIP: vip show" 1 "unknown VIP" vip show 10.200.100.99:80/tcp
cli "unknown VIP: vip del" 1 "unknown VIP" vip del 10.200.100.99:80/tcp
cli "unknown VIP: backend add" 1 "unknown VIP" backend add 10.200.100.99:80/tcp 10.200.0.11
cli "unknown VIP: backend weight" 1 "unknown VIP" backend weight 10.200.100.99:80/tcp 10.200.0.11 3
cli "unknown VIP: del-backend" 1 "unknown VIP" del-backend 10.200.100.99:80/tcp 10.200.0.11
cli "unknown backend" 1 "10.200.0.12 is not in VIP" backend drain $VIP 10.200.0.12
cli "duplicate backend" 1 "already in VIP" add-backend $VIP 10.200.0.11
cli "duplicate backend, other spelling" 1 "already in VIP" \
	backend add '[fd00:200:100::1]:443/tcp' fd00:200:0:0:0:0:0:11
cli "duplicate VIP" 1 "already exists" vip add $VIP
cli "weight out of range" 1 "10001" backend weight $VIP 10.200.0.11 10001
cli "weight negative" 1 "-1" backend weight $VIP 10.200.0.11 -1
cli "weight not a number" 1 "heavy" add-backend $VIP 10.200.0.12 --weight heavy
cli "unknown mode" 1 "nat" vip add 10.200.100.9:80/tcp --mode nat
cli "unknown hash" 1 "dst" vip add 10.200.100.9:80/tcp --hash dst
cli "table size not prime" 1 "not prime" vip add 10.200.100.9:80/tcp --table-size 250
cli "table size out of range" 1 "out of range 3.." vip add 10.200.100.9:80/tcp --table-size 2
cli "weight 1e3" 1 "weight '1e3' must be an integer 0..10000" add-backend $VIP 10.200.0.12 --weight 1e3
cli "table size 61.0" 1 "table size '61.0' must be an integer" vip add 10.200.100.9:80/tcp --table-size 61.0
cli "backend is the VIP" 1 "backend 10.200.100.1 is the address of VIP" backend add $VIP 10.200.100.1
cli "backend is the balancer" 1 "10.200.0.2 is an address of this balancer" add-backend $VIP 10.200.0.2
cli "usage: unknown command" 2 "frobnicate" frobnicate
cli "usage: unknown option" 2 "--bogus" --bogus list
cli "usage: missing backend" 2 "missing" add-backend $VIP
cli "usage: missing weight" 2 "missing" backend weight $VIP 10.200.0.11
cli "usage: missing option value" 2 "--weight" add-backend $VIP 10.200.0.12 --weight
cli "usage: unexpected argument" 2 "extra" vip show $VIP extra
cli "usage: unknown backend command" 2 "frob" backend frob $VIP 10.200.0.11
cli "usage: option of another command" 2 "--mode" backend add $VIP 10.200.0.12 --mode ipip

# the old spelling of the socket option works, with a warning
out=$("$LBCTL" -s "$SOCK" -j status 2>"$T/err")
if [ $? -eq 0 ] && [[ $out == *'"ok":true'* ]] &&
	grep -q "^lbctl: warning: -s is deprecated.*use -S" "$T/err"; then
	pass "lbctl -s still works, with a warning"
else
	fail "lbctl -s still works, with a warning" "out '$out', stderr '$(cat "$T/err")'"
fi

# lbd closes a connection before lbctl sends (a busy lbd does): lbctl
# reports it instead of dying of SIGPIPE.  strace holds lbctl between its
# connect and its send until the server has closed.
cat >"$T/closer.py" <<'EOF2'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
open(sys.argv[1] + ".ready", "w").close()
c, _ = s.accept()
c.close()
s.close()
EOF2
if command -v strace >/dev/null; then
	"$PY" "$T/closer.py" "$T/closer.sock" &
	for _ in $(seq 100); do [ -e "$T/closer.sock.ready" ] && break; sleep 0.05; done
	strace -f -o /dev/null -e trace=setsockopt \
		-e inject=setsockopt:delay_exit=300000 \
		"$LBCTL" -S "$T/closer.sock" list 2>"$T/err"
	rc=$?
	wait
	err=$(cat "$T/err")
	if [ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" -eq 1 ] &&
		[[ $err == "lbctl: lbd closed the connection before taking the request"* ]]; then
		pass "lbctl reports a connection lbd closed, no SIGPIPE"
	else
		fail "lbctl reports a connection lbd closed, no SIGPIPE" "exit $rc (141 is SIGPIPE): $err"
	fi
else
	fail "lbctl reports a connection lbd closed, no SIGPIPE" "strace is missing (tools/deps.sh installs it)"
fi

# ---------------------------------------------------------------- lbd down
ctl stale "$T/stale.sock"
kill -TERM "$LBD_PID"
for _ in $(seq 50); do
	kill -0 "$LBD_PID" 2>/dev/null || break
	sleep 0.1
done
for s in "$SOCK" "$T/stale.sock"; do
	name="lbctl says lbd is not running ($(basename "$s"))"
	out=$("$LBCTL" -S "$s" list 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
		[[ $out == *"not running"* ]] && [[ $out == *"lbd --iface"* ]]; then
		pass "$name"
	else
		fail "$name" "exit $rc: $out"
	fi
done
if out=$("$LBCTL" -j -S "$SOCK" status 2>/dev/null | ctl jsonerr "not running"); then
	pass "lbctl -j says lbd is not running"
else
	fail "lbctl -j says lbd is not running" "$out"
fi

# While lbd starts (its state file is read here from a FIFO that the test
# holds), lbctl says that it is starting, not that it is not running.
mkfifo "$T/slow.json"
lb "$O/lbd" --iface eth0 --state "$T/slow.json" --socket "$SOCK" \
	--pin "$PIN" --foreground 2>"$T/slow.err" &
slow=$!
for _ in $(seq 100); do [ -e "$SOCK.starting" ] && break; sleep 0.05; done
out=$("$LBCTL" -S "$SOCK" list 2>&1)
rc=$?
jout=$("$LBCTL" -j -S "$SOCK" list 2>/dev/null | ctl jsonerr "is starting")
jrc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
	[[ $out == "lbctl: lbd is starting (pid "*"$SOCK"* ]] && [ $jrc -eq 0 ]; then
	pass "lbctl says lbd is starting"
else
	fail "lbctl says lbd is starting" "exit $rc: $out; -j: $jout"
fi
# in a subshell: if lbd has already given the FIFO up, the write's SIGPIPE
# ends the subshell, not this script
(echo '{"version":1,"hash_seed":"0x1","next_gen":0,"vips":[]}' >"$T/slow.json") 2>/dev/null
wait "$slow"
slow_rc=$?
out=$("$LBCTL" -S "$SOCK" list 2>&1)
if [ $slow_rc -ne 0 ] && [[ $out == *"not running"* ]] && [ ! -e "$SOCK.starting" ]; then
	pass "lbctl says not running once a start failed"
else
	fail "lbctl says not running once a start failed" "lbd exit $slow_rc, marker $(ls "$SOCK.starting" 2>&1): $out"
fi

# A corrupt state file: lbd refuses to start and leaves the file as it is,
# and the log says it as an error.
head -c 100 "$STATE" >"$T/cut.json"
cp "$T/cut.json" "$STATE"
if start_lbd 2>"$T/lbd.err"; then
	fail "lbd refuses a corrupt state file" "it started"
else
	err=$(cat "$T/lbd.err")
	if [[ $err == *"$STATE"* ]] && [[ $err == *corrupt* ]] &&
		cmp -s "$STATE" "$T/cut.json" && [ ! -S "$SOCK" ]; then
		pass "lbd refuses a corrupt state file"
	else
		fail "lbd refuses a corrupt state file" "$err"
	fi
	if grep -q " error: state file $STATE is corrupt" "$R/lbd.log"; then
		pass "a corrupt state file is logged as an error"
	else
		fail "a corrupt state file is logged as an error" "$(grep corrupt "$R/lbd.log")"
	fi
fi
# A directory as state file: the message says so.
mkdir "$T/state.d"
if lb "$O/lbd" --iface eth0 --state "$T/state.d" --socket "$SOCK" \
	--pin "$PIN" --foreground 2>"$T/lbd.err"; then
	fail "lbd names a directory as state file" "it started"
else
	err=$(cat "$T/lbd.err")
	if [ "$(wc -l <<<"$err")" -eq 1 ] &&
		[[ $err == *"error: state file $T/state.d is a directory"* ]]; then
		pass "lbd names a directory as state file"
	else
		fail "lbd names a directory as state file" "$err"
	fi
fi

finish
