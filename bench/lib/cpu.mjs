// CPU time of processes from /proc, for the Node benches: walcast's own and a Postgres
// cluster's (its postmaster and every backend). Linux only.
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // /proc/<pid>/stat times are in USER_HZ (100 on Linux)

/// CPU seconds (user + system) of a process; 0 when it is gone.
export function cpuOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch { return 0; }
}

/// CPU seconds of a cluster: its postmaster (found by -D <dataDir>) and every backend. Exited
/// backends are not counted, so measure with the connections held open.
export function clusterCpu(dataDir) {
  let postmaster = null;
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  for (const p of all) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes(dataDir) && cmd.includes('postgres')) { postmaster = p; break; }
    } catch { /* gone */ }
  }
  if (!postmaster) throw new Error(`no postmaster for ${dataDir}`);
  let total = cpuOf(postmaster);
  for (const p of all) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = f.slice(f.lastIndexOf(')') + 2).split(' ')[1];
      if (ppid === postmaster) total += cpuOf(p);
    } catch { /* gone */ }
  }
  return total;
}
