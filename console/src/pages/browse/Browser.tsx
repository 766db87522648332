// #/browse/<bucket>/<prefix>: the object browser.

import { useEffect, useState } from "react";
import { listObjects, type Listing } from "../../api/s3";
import { errorText } from "../../api/xml";
import { ErrorBanner, Spinner, formatBytes, formatDate } from "../../components/ui";
import { href, seg } from "../../router";

export function browsePath(bucket: string, prefix: string): string {
  return `/browse/${seg(bucket)}/` + prefix.split("/").map(seg).join("/");
}

export function Browser(props: { bucket: string; prefix: string }) {
  const { bucket, prefix } = props;
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setListing(null);
    listObjects(bucket, prefix)
      .then(setListing)
      .catch((e) => setError(errorText(e)));
  }, [bucket, prefix]);
  return (
    <div className="page">
      <div className="page-head">
        <h1>{bucket}</h1>
      </div>
      <ErrorBanner error={error} />
      {listing === null ? (
        <Spinner />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
              <th>Last modified</th>
            </tr>
          </thead>
          <tbody>
            {listing.prefixes.map((p) => (
              <tr key={p}>
                <td>
                  <a href={href(browsePath(bucket, p))}>{p.slice(prefix.length)}</a>
                </td>
                <td />
                <td />
              </tr>
            ))}
            {listing.objects.map((o) => (
              <tr key={o.key}>
                <td>{o.key.slice(prefix.length)}</td>
                <td>{formatBytes(o.size)}</td>
                <td>{formatDate(o.lastModified)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
