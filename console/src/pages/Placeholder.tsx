// A route whose page is not built yet.

export function Placeholder(props: { title: string }) {
  return (
    <div className="page">
      <div className="page-head">
        <h1>{props.title}</h1>
      </div>
      <div className="card">
        <p className="muted">This page is coming soon.</p>
      </div>
    </div>
  );
}
