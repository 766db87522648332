// The bucket policy editor: a JSON textarea checked before it is sent (a parse error is
// shown with its line and column; the policy's shape too), templates, save and delete. What
// only the server can tell (a resource of another bucket, an unknown condition) comes back
// as its MalformedPolicy message, shown as it is.
//
// Test ids: policy-text, policy-template-private, policy-template-public-read,
// policy-template-none, policy-save, policy-delete, policy-error, policy-saved.
import { useEffect, useState } from 'react';
import { deletePolicy, getPolicy, putPolicy } from './api';
import { publicReadPolicy } from './templates';
import { checkPolicy, type JsonProblem } from '../kit/json';
import { ConfirmButton, messageOf } from '../kit/ui';

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export default function PolicyEditor(props: { bucket: string }) {
  const [text, setText] = useState('');
  const [stored, setStored] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [problem, setProblem] = useState<JsonProblem | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [hint, setHint] = useState<string | null>(null);

  const load = async () => {
    try {
      const p = await getPolicy(props.bucket);
      setStored(p);
      setText(p ? pretty(p) : '');
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoaded(true);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.bucket]);

  const save = async () => {
    setSaved(null);
    setError(null);
    if (!text.trim()) {
      // An empty editor means no policy: a private bucket.
      setBusy(true);
      try {
        await deletePolicy(props.bucket);
        setSaved('The policy was removed: the bucket is private.');
        await load();
      } catch (e) {
        setError(e);
      } finally {
        setBusy(false);
      }
      return;
    }
    const p = checkPolicy(text, { needPrincipal: true });
    setProblem(p);
    if (p) return;
    setBusy(true);
    try {
      await putPolicy(props.bucket, text);
      setSaved('Policy saved.');
      await load();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const lines = Math.max(text.split('\n').length + 1, 14);
  return (
    <section className="card c2-section" aria-labelledby="policy-h">
      <div className="c2-section-head">
        <div>
          <h2 id="policy-h">Bucket policy</h2>
          <p className="muted" data-testid="policy-state">
            {!loaded
              ? 'Loading…'
              : stored
                ? 'This bucket has a policy.'
                : 'No policy: the bucket is private (only users whose own policies allow it have access).'}
          </p>
        </div>
        <div className="actions">
          <span className="muted">Templates:</span>
          <button
            type="button"
            className="btn btn-sm"
            data-testid="policy-template-private"
            onClick={() => {
              setText('');
              setProblem(null);
              setHint('Private: no policy. Save removes the current policy.');
            }}
          >
            Private
          </button>
          <button
            type="button"
            className="btn btn-sm"
            data-testid="policy-template-public-read"
            onClick={() => {
              setText(publicReadPolicy(props.bucket));
              setProblem(null);
              setHint('Public read-only: anyone may list the bucket and download its objects.');
            }}
          >
            Public read-only
          </button>
          <button
            type="button"
            className="btn btn-sm"
            data-testid="policy-template-none"
            onClick={() => {
              setText(stored ? pretty(stored) : '');
              setProblem(null);
              setHint(null);
            }}
          >
            Reset
          </button>
        </div>
      </div>
      {hint && <div className="alert alert-info">{hint}</div>}
      <div className={problem ? 'c2-editor c2-editor-bad' : 'c2-editor'}>
        <pre className="c2-gutter" aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <span key={i} className={problem?.line === i + 1 ? 'c2-gutter-bad' : undefined}>
              {i + 1}
              {'\n'}
            </span>
          ))}
        </pre>
        <textarea
          data-testid="policy-text"
          aria-label="Bucket policy JSON"
          spellCheck={false}
          rows={lines}
          value={text}
          disabled={!loaded}
          placeholder='{ "Version": "2012-10-17", "Statement": [ … ] }'
          onChange={(ev) => {
            setText(ev.target.value);
            setSaved(null);
            if (problem) setProblem(checkPolicy(ev.target.value, { needPrincipal: true }));
          }}
        />
      </div>
      {problem && (
        <div className="alert alert-error" role="alert" data-testid="policy-error">
          {problem.message}
        </div>
      )}
      {error !== null && (
        <div className="alert alert-error" role="alert" data-testid="policy-error">
          The server refused the policy — {messageOf(error)}
        </div>
      )}
      {saved && (
        <div className="alert alert-ok" role="status" data-testid="policy-saved">
          {saved}
        </div>
      )}
      <div className="c2-row-end">
        {stored && (
          <ConfirmButton
            label="Delete policy"
            className="btn btn-danger"
            testId="policy-delete"
            confirm="Remove this bucket's policy? The bucket becomes private."
            onConfirm={async () => {
              await deletePolicy(props.bucket);
              setSaved('The policy was removed: the bucket is private.');
              await load();
            }}
          />
        )}
        <button
          type="button"
          className="btn"
          onClick={() => {
            const p = checkPolicy(text, { needPrincipal: true });
            setProblem(p);
            setSaved(p ? null : 'The policy is valid JSON with the expected shape.');
          }}
        >
          Validate
        </button>
        <button type="button" className="btn btn-primary" data-testid="policy-save" disabled={busy || !loaded} onClick={save}>
          {busy ? 'Saving…' : 'Save policy'}
        </button>
      </div>
    </section>
  );
}
