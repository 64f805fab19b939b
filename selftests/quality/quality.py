#!/usr/bin/env python3
"""The quality harness's two halves (selftests/quality/run drives them).

drive WORKDIR SCENARIO...  runs each attack scenario, then the benign workload,
    each as its own process tree, and writes roots.json: the pid of each root.
score EVENTS ROOTS         attributes every incident of the daemon's output to
    the scenario whose root is among its process ancestors (fork events give
    the tree, in stream order), and prints recall, noise and the rules behind
    them. --min-recall P / --max-noise N make it fail below the floors.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

SCENARIO_TIMEOUT_S = 60
BENIGN_TIMEOUT_S = 900


def header(path):
    """'# attack: T1070.006 what it does' → (technique, title)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"#\s*attack:\s*(T\d{4}(?:\.\d{3})?)\s+(.*)", line)
            if m:
                return m.group(1), m.group(2).strip()
    return None, None


def scenario_set(path):
    """'# set: unseen' marks a scenario written after the rules it is scored against, to measure how
    they generalise; the others are 'tuned' (the rules were written or tuned with them in view)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"#\s*set:\s*(\S+)", line)
            if m:
                return m.group(1)
    return "tuned"


def login_session():
    """What pam_loginuid does for sshd and login: the process starts an audit login session.

    When the harness itself runs inside a login session whose loginuid the kernel keeps
    immutable, the workload stays in that one (a login session all the same)."""
    try:
        with open("/proc/self/loginuid", "w") as f:
            f.write(str(os.getuid()))
    except OSError:
        pass


def run_tree(argv, cwd, env, timeout, login=False):
    """Start argv as the root of a new session; wait, killing the group on timeout.

    timeout(1) is the root, not bash: the daemon's ProcessTree is the first
    process above the shells, so each tree gets its own (otherwise every
    scenario and the benign workload would share the harness's python as one
    tree, and a correlation could join two of them or stay quiet in one
    because it fired in another)."""
    p = subprocess.Popen(["timeout", "-s", "KILL", str(timeout + 5)] + argv, cwd=cwd, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True, preexec_fn=login_session if login else None)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        rc = "timeout"
    # whatever the scenario left running in its session goes too
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return p.pid, rc, out.decode("utf-8", "replace")


def drive(workdir, scenarios, benign):
    roots = []
    log = open(os.path.join(workdir, "scenarios.log"), "w")
    for path in scenarios:
        tech, title = header(path)
        if not tech:
            print(f"{path}: no '# attack: TNNNN title' header, not run", file=sys.stderr)
            continue
        name = os.path.basename(path).rsplit(".", 1)[0]
        sw = os.path.join(workdir, "w", name)
        os.makedirs(sw)
        env = dict(os.environ, SW=sw, PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        pid, rc, out = run_tree(["bash", os.path.abspath(path), sw], sw, env, SCENARIO_TIMEOUT_S)
        shutil.rmtree(sw, ignore_errors=True)
        log.write(f"== {name} pid {pid} rc {rc}\n{out}\n")
        roots.append({"name": name, "kind": "attack", "set": scenario_set(path), "technique": tech, "title": title,
                      "pid": pid, "rc": rc,
                      "parent": os.getpid()})
        time.sleep(0.05)
    if benign:
        bw = os.path.join(workdir, "benign")
        os.makedirs(bw)
        env = dict(os.environ, BW=bw)
        t0 = time.time()
        # an administrator's session is a login session (loginuid set); the attack
        # scenarios are a foothold's commands, from a service or a dropper (none)
        pid, rc, out = run_tree(["bash", os.path.abspath(benign), bw], bw, env, BENIGN_TIMEOUT_S, login=True)
        log.write(f"== benign pid {pid} rc {rc} {time.time() - t0:.0f} s\n{out}\n")
        roots.append({"name": "benign", "kind": "benign", "pid": pid, "rc": rc, "seconds": round(time.time() - t0),
                      "parent": os.getpid()})
        shutil.rmtree(bw, ignore_errors=True)
    json.dump(roots, open(os.path.join(workdir, "roots.json"), "w"), indent=1)


def score(events_path, roots_path, min_recall, max_noise):
    roots = json.load(open(roots_path))
    # roots start in this order; each fork of a root's pid from the harness binds the label
    pending = {}
    for i, r in enumerate(roots):
        pending.setdefault(r["pid"], []).append(i)
    label = {}  # live pid → root index
    hits = {i: [] for i in range(len(roots))}
    unattributed = 0
    with open(events_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            ev = d.get("event", {})
            proc = d.get("process", {})
            pid = proc.get("pid")
            ppid = proc.get("parent", {}).get("pid")
            action = ev.get("action")
            if ev.get("kind") == "event" and action == "fork":
                if pending.get(pid) and ppid == roots[pending[pid][0]]["parent"]:
                    label[pid] = pending[pid].pop(0)
                elif ppid in label:
                    label[pid] = label[ppid]
                else:
                    label.pop(pid, None)
            elif ev.get("kind") == "event" and action == "exit":
                pass  # keep the label: incidents of a process come before its exit, pids are rebound at fork
            elif ev.get("kind") == "alert":
                owner = label.get(pid)
                if owner is None:
                    for a in proc.get("ancestors", []):
                        if a.get("pid") in label:
                            owner = label[a["pid"]]
                            break
                if owner is None:
                    unattributed += 1
                    continue
                rule = d.get("rule", {})
                hits[owner].append((rule.get("id", "?"), rule.get("name", "?"), rule.get("level", "?")))
    attacks = [i for i, r in enumerate(roots) if r["kind"] == "attack"]
    detected = [i for i in attacks if hits[i]]
    print(f"{'scenario':44} {'technique':10} detected by")
    per_rule = {}
    for i in attacks:
        r = roots[i]
        names = sorted({h[1] for h in hits[i]})
        for h in set(hits[i]):
            per_rule.setdefault(h[1], [0, 0])[0] += 1
        print(f"{r['name'][:44]:44} {r['technique']:10} {'; '.join(names) if names else 'MISSED'}")
    benign = [i for i, r in enumerate(roots) if r["kind"] == "benign"]
    noise = sum(len(hits[i]) for i in benign)
    for i in benign:
        for h in hits[i]:
            per_rule.setdefault(h[1], [0, 0])[1] += 1
    print()
    print(f"{'rule':64} {'scenarios':>9} {'benign':>6}")
    for name, (a, b) in sorted(per_rule.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0])):
        print(f"{name[:64]:64} {a:9} {b:6}")
    recall = 100.0 * len(detected) / len(attacks) if attacks else 0.0
    print()
    if benign:
        secs = roots[benign[0]].get("seconds", "?")
        print(f"benign workload: {noise} incident(s) in its process tree (ran {secs} s)")
        for i in benign:
            for h in hits[i]:
                print(f"  noise: {h[1]} ({h[0]}, {h[2]})")
    sets = {}
    for i in attacks:
        n = sets.setdefault(roots[i].get("set", "tuned"), [0, 0])
        n[0] += bool(hits[i])
        n[1] += 1
    for name, (d, n) in sorted(sets.items(), key=lambda kv: kv[0] != "tuned"):
        print(f"recall, {name} scenarios: {d}/{n} = {100.0 * d / n:.1f}%"
              + (" (written after the rules they are scored against)" if name.startswith("unseen") else ""))
    print(f"recall: {len(detected)}/{len(attacks)} scenarios = {recall:.1f}%; noise: {noise}; "
          f"incidents outside both trees: {unattributed}")
    passed = failed = 0
    if min_recall is not None:
        if recall < min_recall:
            print(f"FAIL: recall {recall:.1f}% is below the floor {min_recall}%")
            failed += 1
        else:
            print(f"ok - recall {recall:.1f}% >= {min_recall}%")
            passed += 1
    if max_noise is not None:
        if noise > max_noise:
            print(f"FAIL: {noise} benign incidents, more than {max_noise}")
            failed += 1
        else:
            print(f"ok - {noise} benign incident(s) <= {max_noise}")
            passed += 1
    if passed + failed:
        print(f"{passed} passed, {failed} failed")
    return 0 if not failed else 1


def main(argv):
    if len(argv) >= 3 and argv[1] == "drive":
        scen = [a for a in argv[3:] if "/attack/" in a]
        ben = next((a for a in argv[3:] if "/benign/" in a), None)
        drive(argv[2], scen, ben)
        return 0
    if len(argv) >= 4 and argv[1] == "score":
        args = argv[4:]
        mr = float(args[args.index("--min-recall") + 1]) if "--min-recall" in args else None
        mn = int(args[args.index("--max-noise") + 1]) if "--max-noise" in args else None
        return score(argv[2], argv[3], mr, mn)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
