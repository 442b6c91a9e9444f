#!/usr/bin/env python3
# Usage: python3 tools/scale/heapsplit.py OUT ./prunelab prune ... --streaming (writes OUT.log, prints the split).
"""heapsplit.py OUT command...: runs a prunelab command, samples its JVM's mappings every second (/proc/PID/smaps):
RSS of the Java heap (mappings at 4-32 GB, where the JVM puts a compressed-oops heap) and of everything else."""
import subprocess, sys, time, os, re
out, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(cmd, stdout=open(out + '.log', 'w'), stderr=subprocess.STDOUT)
def jvm():
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                c = open(f'/proc/{pid}/cmdline').read()
            except OSError:
                continue
            if 'org.prunelab.cli.Main' in c and 'java' in c:
                return pid
samples = []
while p.poll() is None:
    pid = jvm()
    if pid:
        try:
            heap = other = 0; addr = 0
            for line in open(f'/proc/{pid}/smaps'):
                m = re.match(r'^([0-9a-f]+)-[0-9a-f]+ ', line)
                if m:
                    addr = int(m.group(1), 16)
                elif line.startswith('Rss:'):
                    kb = int(line.split()[1])
                    if 0x100000000 <= addr < 0x800000000: heap += kb
                    else: other += kb
            samples.append((heap + other, heap, other))
        except OSError:
            pass
    time.sleep(1)
if not samples:
    sys.exit('heapsplit: the command ended before a sample of its JVM was taken (exit %s); see %s.log' % (p.returncode, out))
peak = max(samples)
print('samples %d; at peak RSS: %.1f MB (heap %.1f, non-heap %.1f); max non-heap %.1f MB; max heap %.1f MB' % (
    len(samples), peak[0] / 1024, peak[1] / 1024, peak[2] / 1024, max(s[2] for s in samples) / 1024, max(s[1] for s in samples) / 1024))
sys.exit(p.returncode)
