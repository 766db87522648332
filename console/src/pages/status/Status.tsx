// #/status: nodes, volumes online/offline, capacity, metadata replicas, heal progress and
// the background workers, from GET /rustfs/admin/v1/status (polled every 2 s), and graphs
// of requests/s and bytes in/out per second drawn from the differences of its `traffic`
// counters (kept for the last 5 minutes in memory; the graphs say so when the server does
// not report traffic).
//
// Test ids: status-page, status-volumes (table), volume-row-<i>, status-online,
// status-offline, status-capacity, status-heal, heal-start, status-workers,
// chart-requests, chart-bytes, status-no-traffic.
import { useEffect, useRef, useState } from 'react';
import { getHeal, getStatus, startHeal, type HealState, type ServerStatus } from '../../api/admin';
import { ErrorBox, NoPermission, deniedError, formatBytes } from '../kit/ui';
import { LineChart } from './Chart';

const POLL_MS = 2000;
const KEEP_MS = 5 * 60 * 1000;

interface Sample {
  t: number;
  rps: number;
  eps: number;
  inBps: number;
  outBps: number;
}

/** The node a volume is on: the host of a remote volume's URL, else this node. */
function nodeOf(path: string): string {
  const m = /^[a-z]+:\/\/([^/]+)/i.exec(path);
  return m ? m[1] : 'this node';
}

function Meter(props: { used: number; total: number }) {
  const f = props.total > 0 ? props.used / props.total : 0;
  const cls = f > 0.9 ? 'c2-meter c2-meter-bad' : f > 0.75 ? 'c2-meter c2-meter-warn' : 'c2-meter';
  return (
    <div className={cls} role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(f * 100)} aria-label="used">
      <div style={{ width: `${Math.min(100, f * 100).toFixed(1)}%` }} />
    </div>
  );
}

function rate(v: number): string {
  if (v >= 100) return Math.round(v).toString();
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2).replace(/\.?0+$/, '') || '0';
}

function HealCard(props: { heal: HealState | null; onStart: (deep: boolean) => void; busy: boolean }) {
  const h = props.heal;
  const r = h?.state === 'running' ? h.progress : h?.state === 'done' ? h.report : null;
  return (
    <section className="card c2-section" data-testid="status-heal">
      <div className="c2-section-head">
        <h2>Heal</h2>
        <div className="actions">
          <button type="button" className="btn btn-sm" data-testid="heal-start" disabled={props.busy || h?.state === 'running'} onClick={() => props.onStart(false)}>
            Start heal
          </button>
          <button type="button" className="btn btn-sm" disabled={props.busy || h?.state === 'running'} onClick={() => props.onStart(true)}>
            Deep heal
          </button>
        </div>
      </div>
      {!h || h.state === 'idle' ? (
        <p className="muted">No heal pass has run since the server started.</p>
      ) : h.state === 'unknown' ? (
        <p className="muted">Pass {h.id} is not known.</p>
      ) : (
        <>
          <p>
            Pass {h.id}{' '}
            <span className={h.state === 'running' ? 'badge badge-warn' : 'badge badge-ok'}>{h.state === 'running' ? 'running' : 'done'}</span>{' '}
            <span className="muted">
              started {new Date(h.started_ms).toLocaleTimeString()}
              {h.state === 'done' && `, took ${((h.finished_ms - h.started_ms) / 1000).toFixed(1)} s`}
            </span>
          </p>
          {r && (
            <dl className="kv">
              <dt>Objects checked</dt>
              <dd>{r.objects_checked.toLocaleString()} ({formatBytes(r.bytes_checked)})</dd>
              <dt>Shards damaged</dt>
              <dd>{r.shards_damaged}</dd>
              <dt>Shards repaired</dt>
              <dd>{r.shards_repaired}</dd>
              <dt>Shards offline</dt>
              <dd>{r.shards_offline}</dd>
              <dt>Unrecoverable</dt>
              <dd className={r.unrecoverable ? 'c2-hint-bad' : undefined}>{r.unrecoverable}</dd>
              <dt>Replicas resynced</dt>
              <dd>{r.replicas_resynced}</dd>
            </dl>
          )}
        </>
      )}
    </section>
  );
}

export default function Status() {
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const [heal, setHeal] = useState<HealState | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [healBusy, setHealBusy] = useState(false);
  const last = useRef<{ t: number; req: number; err: number; bin: number; bout: number } | null>(null);

  useEffect(() => {
    let alive = true;
    let timer = 0;
    const tick = async () => {
      try {
        const [s, h] = await Promise.all([getStatus(), getHeal().catch(() => null)]);
        if (!alive) return;
        setStatus(s);
        setHeal(h);
        setError(null);
        const tr = s.traffic;
        if (tr) {
          const now = Date.now();
          const prev = last.current;
          last.current = { t: now, req: tr.requests, err: tr.errors, bin: tr.bytes_in, bout: tr.bytes_out };
          // A counter that went down: the server restarted; start the graph again.
          if (prev && tr.requests >= prev.req && now > prev.t) {
            const dt = (now - prev.t) / 1000;
            const sample = {
              t: now,
              rps: (tr.requests - prev.req) / dt,
              eps: Math.max(0, tr.errors - prev.err) / dt,
              inBps: Math.max(0, tr.bytes_in - prev.bin) / dt,
              outBps: Math.max(0, tr.bytes_out - prev.bout) / dt,
            };
            setSamples((old) => [...old.filter((x) => x.t >= now - KEEP_MS), sample]);
          } else if (prev) {
            setSamples([]);
          }
        }
      } catch (e) {
        if (alive) setError(e);
      } finally {
        if (alive) timer = window.setTimeout(tick, POLL_MS);
      }
    };
    void tick();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, []);

  if (error && deniedError(error)) return <NoPermission what="see the server status" />;

  const vols = status?.volumes ?? [];
  const online = vols.filter((v) => v.online).length;
  const withSpace = vols.filter((v) => v.total_bytes != null && v.free_bytes != null);
  const total = withSpace.reduce((a, v) => a + (v.total_bytes ?? 0), 0);
  const free = withSpace.reduce((a, v) => a + (v.free_bytes ?? 0), 0);
  const nodes = new Map<string, { on: number; all: number }>();
  for (const v of vols) {
    const n = v.node ?? nodeOf(v.path);
    const e = nodes.get(n) ?? { on: 0, all: 0 };
    e.all++;
    if (v.online) e.on++;
    nodes.set(n, e);
  }
  const times = samples.map((s) => s.t);
  const busyWorkers = (status?.workers ?? []).filter((w) => w.state === 'running').length;

  return (
    <div className="page" data-testid="status-page">
      <div className="page-head">
        <div>
          <h1>Status</h1>
          <p className="muted">
            Updated every 2 seconds.
            {status?.erasure && ` Erasure coding: ${status.erasure.data_shards} data + ${status.erasure.parity_shards} parity shards (write quorum ${status.erasure.write_quorum}).`}
            {status?.metadata_backend && ` Metadata: ${status.metadata_backend}.`}
          </p>
        </div>
      </div>
      <ErrorBox error={error} />
      <div className="stats c2-grid3">
        <div className="card stat">
          <div className="stat-label">Nodes</div>
          <div className="stat-value">{nodes.size || '—'}</div>
        </div>
        <div className="card stat">
          <div className="stat-label">Volumes online</div>
          <div className="stat-value" data-testid="status-online">
            {status ? `${online} / ${vols.length}` : '—'}
          </div>
        </div>
        <div className="card stat">
          <div className="stat-label">Volumes offline</div>
          <div className={vols.length - online ? 'stat-value c2-hint-bad' : 'stat-value'} data-testid="status-offline">
            {status ? vols.length - online : '—'}
          </div>
        </div>
        <div className="card stat" data-testid="status-capacity">
          <div className="stat-label">Capacity used</div>
          {withSpace.length ? (
            <>
              <div className="stat-value">
                {formatBytes(total - free)} <span className="muted small">of {formatBytes(total)}</span>
              </div>
              <Meter used={total - free} total={total} />
            </>
          ) : (
            <div className="stat-value muted">—</div>
          )}
        </div>
      </div>

      <div className="c2-grid2">
        <section className="card c2-section">
          <h2>Requests per second</h2>
          {status && !status.traffic ? (
            <p className="muted" data-testid="status-no-traffic">
              This server does not report request counters.
            </p>
          ) : (
            <LineChart
              title="Requests per second"
              testId="chart-requests"
              times={times}
              format={rate}
              series={[
                { label: 'requests/s', color: '#c2410c', values: samples.map((s) => s.rps) },
                { label: 'errors/s', color: '#d92d20', values: samples.map((s) => s.eps) },
              ]}
            />
          )}
        </section>
        <section className="card c2-section">
          <h2>Throughput</h2>
          {status && !status.traffic ? (
            <p className="muted">This server does not report byte counters.</p>
          ) : (
            <LineChart
              title="Bytes per second in and out"
              testId="chart-bytes"
              times={times}
              format={(v) => `${formatBytes(v)}/s`}
              series={[
                { label: 'in', color: '#175cd3', values: samples.map((s) => s.inBps) },
                { label: 'out', color: '#079455', values: samples.map((s) => s.outBps) },
              ]}
            />
          )}
        </section>
      </div>

      <section className="card c2-section">
        <h2>Volumes</h2>
        <table className="table" data-testid="status-volumes">
          <thead>
            <tr>
              <th>Node</th>
              <th>Path</th>
              <th>State</th>
              <th>Used</th>
              <th className="c2-right">Free</th>
            </tr>
          </thead>
          <tbody>
            {vols.map((v, i) => (
              <tr key={v.path} data-testid={`volume-row-${i}`}>
                <td>{v.node ?? nodeOf(v.path)}</td>
                <td className="mono">{v.path}</td>
                <td>
                  <span className={v.online ? 'c2-dot' : 'c2-dot c2-dot-off'} />
                  {v.online ? 'online' : 'offline'}
                  {v.full && <span className="badge badge-danger" style={{ marginLeft: 6 }}>full</span>}
                </td>
                <td style={{ minWidth: 180 }}>
                  {v.total_bytes != null && v.free_bytes != null ? <Meter used={v.total_bytes - v.free_bytes} total={v.total_bytes} /> : <span className="muted">—</span>}
                </td>
                <td className="c2-right muted">
                  {v.free_bytes != null && v.total_bytes != null ? `${formatBytes(v.free_bytes)} of ${formatBytes(v.total_bytes)}` : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <div className="c2-grid2">
        <HealCard
          heal={heal}
          busy={healBusy}
          onStart={async (deep) => {
            setHealBusy(true);
            try {
              setHeal(await startHeal(deep));
            } catch (e) {
              setError(e);
            } finally {
              setHealBusy(false);
            }
          }}
        />
        <section className="card c2-section">
          <h2>Metadata replicas</h2>
          {status?.metadata_replicas?.length ? (
            <table className="table">
              <tbody>
                {status.metadata_replicas.map((r) => (
                  <tr key={r.path}>
                    <td className="mono">{r.path}</td>
                    <td className="c2-right">
                      <span className={r.online ? 'c2-dot' : 'c2-dot c2-dot-off'} />
                      {r.online ? 'online' : 'offline'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">The metadata database replicates by itself ({status?.metadata_backend ?? '…'}).</p>
          )}
        </section>
      </div>

      <section className="card c2-section">
        <h2>
          Background workers <span className="muted small">{busyWorkers ? `${busyWorkers} running` : ''}</span>
        </h2>
        <table className="table" data-testid="status-workers">
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th>Progress</th>
              <th>Counters</th>
              <th>Last step</th>
            </tr>
          </thead>
          <tbody>
            {(status?.workers ?? []).map((w) => (
              <tr key={w.name}>
                <td className="c2-strong c2-nowrap">{w.name}</td>
                <td>
                  <span className={w.state === 'running' ? 'badge badge-warn' : w.state === 'done' ? 'badge badge-ok' : 'badge badge-off'}>{w.state}</span>
                </td>
                <td>
                  {w.progress}
                  {w.last_error && <div className="c2-hint-bad small">{w.last_error}</div>}
                </td>
                <td className="muted small">
                  {Object.entries(w.counters)
                    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${v.toLocaleString()}`)
                    .join(' · ')}
                </td>
                <td className="muted small c2-nowrap">{w.last_step_ms ? new Date(w.last_step_ms).toLocaleTimeString() : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
