#!/usr/bin/env python3
"""Summarises an s3-tests junit.xml per feature area (used by scripts/s3-tests.sh).

    s3-tests-report.py JUNIT_XML [--failures FILE]

Each test goes to the first area whose pattern matches its name (test_headers.py is all
"headers and SigV4 auth", test_iam.py "IAM", test_sts.py "STS"). FILE gets one line per failed or errored test: area, outcome,
name, first line of the message.
"""

import argparse
import re
import sys
from collections import defaultdict
from xml.etree import ElementTree

# First match wins, so the specific areas come before the broad ones.
AREAS = [
    ("object lock", r"object_lock"),
    ("lifecycle", r"lifecycle"),
    # Tests of features RustFS does not serve that carry no marker to deselect them by.
    ("unserved features", r"torrent|logging|restore|storage_class"),
    ("encryption", r"encrypt|sse_|_sse|kms|enc_conflict"),
    ("bucket policy", r"bucket_policy|bucketv2_policy|policy_status|block_public|public_block|"
                      r"ignore_public"),
    # After the unserved ones: a versioning test of object lock or lifecycle stays unserved.
    ("versioning", r"versioning|versioned|delete_marker"),
    ("tagging", r"tag"),
    ("CORS", r"cors"),
    ("POST object", r"post_object"),
    ("ownership controls", r"ownership|owner_enforced|owner_preferred|object_writer"),
    ("object attributes", r"attributes"),
    ("checksums", r"checksum|cksum"),
    ("acl", r"acl|grant|anon|public|access_bucket|canned|_private_|authenticated"),
    ("presigned URLs", r"presigned|x_amz_expires|query_auth|signed_url"),
    ("atomic read/write", r"atomic"),
    ("conditional", r"_if_|ifmatch|ifnonematch|if_match|if_none|modified|conditional|_cond_"),
    ("ranged GET", r"range"),
    ("multipart", r"multipart|upload_part|_parts|abort_"),
    ("copy", r"copy"),
    ("headers and SigV4 auth", r"header|auth|sig|continue|expect|content_length|content_md5|"
                               r"date|requestid|user_agent|raw_"),
    ("listing v2", r"listv2|list_objects_v2|bucketv2|_v2"),
    ("listing v1", r"bucket_list|list_objects|listobjects|delimiter|prefix|marker|list_return|"
                   r"list_many|list_unordered"),
    ("buckets", r"bucket"),
    ("objects", r"object|obj|_put|_get|delete|key"),
]
COMPILED = [(name, re.compile(p)) for name, p in AREAS]
ORDER = [a for a, _ in AREAS] + ["IAM", "STS", "other"]


def area_of(classname: str, name: str) -> str:
    if classname.endswith("test_headers"):
        return "headers and SigV4 auth"
    if classname.endswith("test_iam"):
        return "IAM"
    if classname.endswith("test_sts"):
        return "STS"
    for area, pat in COMPILED:
        if pat.search(name):
            return area
    return "other"


def outcome_of(case) -> tuple[str, str]:
    for tag, outcome in (("failure", "failed"), ("error", "errored"), ("skipped", "skipped")):
        el = case.find(tag)
        if el is not None:
            msg = (el.get("message") or el.text or "").strip().splitlines()
            return outcome, msg[0][:200] if msg else ""
    return "passed", ""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("junit")
    ap.add_argument("--failures")
    args = ap.parse_args()
    try:
        root = ElementTree.parse(args.junit).getroot()
    except (OSError, ElementTree.ParseError) as e:
        print(f"cannot read {args.junit}: {e}", file=sys.stderr)
        return 1
    counts = defaultdict(lambda: defaultdict(int))
    bad = []
    for case in root.iter("testcase"):
        name = case.get("name", "")
        area = area_of(case.get("classname", ""), name)
        outcome, msg = outcome_of(case)
        # An error in teardown is reported beside a pass; count the test once, as errored.
        counts[area][outcome] += 1
        if outcome in ("failed", "errored"):
            bad.append((area, outcome, name, msg))
    print(f"{'area':<24}{'passed':>8}{'failed':>8}{'errored':>8}{'skipped':>8}{'pass %':>8}")
    total = defaultdict(int)
    for area in ORDER:
        c = counts.get(area)
        if not c:
            continue
        run = c["passed"] + c["failed"] + c["errored"]
        pct = f"{100 * c['passed'] / run:.0f}" if run else "-"
        print(f"{area:<24}{c['passed']:>8}{c['failed']:>8}{c['errored']:>8}{c['skipped']:>8}{pct:>8}")
        for k, v in c.items():
            total[k] += v
    run = total["passed"] + total["failed"] + total["errored"]
    pct = f"{100 * total['passed'] / run:.0f}" if run else "-"
    print(f"{'total':<24}{total['passed']:>8}{total['failed']:>8}{total['errored']:>8}"
          f"{total['skipped']:>8}{pct:>8}")
    if args.failures:
        with open(args.failures, "w") as f:
            for row in sorted(bad):
                f.write("\t".join(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
