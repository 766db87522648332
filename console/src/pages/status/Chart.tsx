// A small hand-drawn SVG line chart (no dependency): a few series over the same time
// axis, with a y axis scaled to the largest value and labels formatted by the caller.

export interface Series {
  label: string;
  color: string;
  values: number[];
}

export function LineChart(props: {
  times: number[];
  series: Series[];
  format: (v: number) => string;
  height?: number;
  testId?: string;
  title: string;
}) {
  const W = 640;
  const H = props.height ?? 200;
  const pad = { l: 64, r: 12, t: 10, b: 24 };
  const n = props.times.length;
  const max = Math.max(1e-9, ...props.series.flatMap((s) => s.values));
  const niceMax = nice(max);
  const t0 = n ? props.times[0] : 0;
  const t1 = n ? props.times[n - 1] : 1;
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => pad.l + ((t - t0) / span) * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - v / niceMax) * (H - pad.t - pad.b);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * niceMax);
  return (
    <figure style={{ margin: 0 }}>
      <svg className="c2-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title} data-testid={props.testId}>
        {ticks.map((v) => (
          <g key={v}>
            <line className="grid" x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} />
            <text className="axis" x={pad.l - 6} y={y(v) + 4} textAnchor="end">
              {props.format(v)}
            </text>
          </g>
        ))}
        <text className="axis" x={pad.l} y={H - 6}>
          {n > 1 ? `${Math.round(span / 1000)} s ago` : ''}
        </text>
        <text className="axis" x={W - pad.r} y={H - 6} textAnchor="end">
          now
        </text>
        {n > 1 &&
          props.series.map((s) => {
            const pts = s.values.map((v, i) => `${x(props.times[i]).toFixed(1)},${y(v).toFixed(1)}`);
            const area = `M${x(props.times[0]).toFixed(1)},${y(0)} L${pts.join(' L')} L${x(props.times[n - 1]).toFixed(1)},${y(0)} Z`;
            return (
              <g key={s.label}>
                <path d={area} fill={s.color} opacity={0.08} />
                <polyline points={pts.join(' ')} fill="none" stroke={s.color} strokeWidth={2} strokeLinejoin="round" />
              </g>
            );
          })}
        {n <= 1 && (
          <text className="axis" x={W / 2} y={H / 2} textAnchor="middle">
            collecting samples…
          </text>
        )}
      </svg>
      <figcaption className="c2-legend">
        {props.series.map((s) => (
          <span key={s.label}>
            <i style={{ background: s.color }} />
            {s.label}: <b>{props.format(s.values[s.values.length - 1] ?? 0)}</b>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** A round number at or above `v` (1, 2, 5 × 10^k). */
function nice(v: number): number {
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}
