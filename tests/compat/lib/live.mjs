// Helpers of the live-query suites (live_broadcast over realtime-js, live_sse over GET /live/v1).

/// The client rule of docs/livequery.md: the rows after applying each push in order. pushes:
/// [{event: 'result' | 'diff' | 'error', payload}] in arrival order.
export function replay(pushes, key) {
  let rows = [];
  const k = (r) => JSON.stringify(key.map((c) => r[c]));
  for (const m of pushes) {
    if (m.event === 'result') rows = m.payload.rows.slice();
    if (m.event !== 'diff') continue;
    const d = m.payload;
    const gone = new Set(d.deleted.map(k));
    const upd = new Map(d.updated.map((r) => [k(r), r]));
    rows = rows.filter((r) => !gone.has(k(r))).map((r) => upd.get(k(r)) ?? r).concat(d.inserted);
    if (d.order) {
      const byKey = new Map(rows.map((r) => [k(r), r]));
      rows = d.order.map((o) => byKey.get(k(o)));
    }
  }
  return rows;
}

/// An LSN ("16/B374D848") as a BigInt, for ordering positions.
export const lsn = (p) => {
  const [hi, lo] = p.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};
