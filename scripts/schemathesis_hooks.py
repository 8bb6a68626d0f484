"""Schemathesis hooks for `scripts/schemathesis.sh`.

The OpenAPI document states every constraint a JSON Schema can express, and the server checks
those exactly. A few answers depend on things no schema can know: the server's clock, what the
store holds, and address checks beyond a pattern. Schemathesis reports those as "schema-valid
request rejected" (ST202). This hook drops such a failure only when *every* error the problem
names is one of the kinds below, so any other rejection still fails the run.
"""

import schemathesis

# (field prefix, message prefix) of the rejections a schema cannot express.
STATE_DEPENDENT = (
    # Opaque cursors are valid only when this server issued them for this tenant and list.
    ("cursor", "not a cursor issued for this list"),
    # Relative to the server's clock.
    ("expires_at", "must be in the future"),
    ("since", "must not be in the future"),
    # Depends on which endpoints the event was fanned out to.
    ("endpoint_id", "is not a destination of this event"),
    # Address checks a pattern cannot express: IPv4/IPv6 literal syntax, IDNA, the SSRF policy.
    ("url", "not a URL: invalid IPv4 address"),
    ("url", "not a URL: invalid IPv6 address"),
    ("url", "not a URL: invalid international domain name"),
    ("url", "points at a private, loopback or otherwise internal address"),
    # A cross-field rule.
    ("until", "must not be before `since`"),
    # Names Switchboard sets itself, refused in any letter case (`headers.<name>`).
    ("headers.", "is set by Switchboard and cannot be overridden"),
)


def _explained(errors):
    return bool(errors) and all(
        any(
            str(e.get("field", "")).startswith(field)
            and str(e.get("message", "")).startswith(prefix)
            for field, prefix in STATE_DEPENDENT
        )
        for e in errors
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code != "ST202":
        return True
    try:
        body = response.json()
    except Exception:
        return True
    errors = body.get("errors") if isinstance(body, dict) else None
    return not _explained(errors if isinstance(errors, list) else [])
