//! object_store errors as one-line messages naming the location, and
//! whether retrying may help. object_store does not expose HTTP status
//! codes or service error codes as values, so the classification reads
//! its error text; this is the only place that does.

use super::Fail;
use crate::error::Error;

pub(super) fn config_error(e: object_store::Error, shown: &str) -> Error {
    Error::usage(format!(
        "{shown}: cannot set up the store client: {}",
        chain(&e)
    ))
}

/// Server answers are XML or JSON over many lines: keep the error code and
/// message on one line.
fn one_line(text: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&close)? + start;
        Some(text[start..end].trim().to_string())
    };
    let head = text
        .split('<')
        .next()
        .unwrap_or(text)
        .trim_end_matches(':')
        .trim();
    let flat = match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => {
            let m = m.lines().next().unwrap_or("").trim().to_string();
            format!("{head} ({c}: {m})")
        }
        (Some(c), None) => format!("{head} ({c})"),
        _ => text.to_string(),
    };
    flat.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The whole error chain as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// An object_store error as a one-line message naming the location, and
/// whether retrying may help.
pub fn fail(e: object_store::Error, shown: &str) -> Fail {
    if let object_store::Error::NotFound { .. } = e {
        return Fail::permanent(Error::io(format!("{shown}: not found")));
    }
    if let object_store::Error::InvalidPath { source } = &e {
        return Fail::permanent(Error::data(format!(
            "{shown}: refusing a source object name ({source}); a name with '..' or empty segments could write outside the destination"
        )));
    }
    let text = one_line(&chain(&e));
    let lower = text.to_ascii_lowercase();
    let has = |words: &[&str]| {
        words
            .iter()
            .any(|w| lower.contains(&w.to_ascii_lowercase()))
    };
    if has(&[
        "NoSuchBucket",
        "ContainerNotFound",
        "bucket does not exist",
        "container does not exist",
        "no bucket named",
        "bucket not found",
    ]) {
        return Fail::permanent(Error::io(format!(
            "{shown}: the bucket or container does not exist"
        )));
    }
    if has(&[
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthenticationFailed",
        "AuthorizationFailure",
        "InvalidToken",
        "ExpiredToken",
        "status: 401",
        "status: 403",
        "401 Unauthorized",
        "403 Forbidden",
        "AccessDenied",
        "Access Denied",
    ]) {
        let vars = if shown.starts_with("s3") {
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN"
        } else if shown.starts_with("gs") {
            "GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT"
        } else {
            "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_KEY, or AZURE_STORAGE_CONNECTION_STRING"
        };
        return Fail::permanent(Error::io(format!(
            "{shown}: access denied: bad credentials or no permission (check {vars})"
        )));
    }
    if has(&[
        "dns error",
        "failed to lookup address",
        "Name or service not known",
        "no address associated",
    ]) {
        return Fail::permanent(Error::io(format!("{shown}: unknown host")));
    }
    if has(&["Connection refused"]) {
        return Fail::transient(Error::io(format!(
            "{shown}: connection refused (is the server running? check the endpoint)"
        )));
    }
    let transient = has(&[
        "timed out",
        "timeout",
        "connection reset",
        "broken pipe",
        "error sending request",
        "incomplete message",
        "connection closed",
        "SlowDown",
        "Throttl",
        "TooManyRequests",
        "status: 429",
        "status code: 429",
        "status code: 50",
        "status: 500",
        "status: 502",
        "status: 503",
        "status: 504",
        "Server error",
        "ServerBusy",
        "InternalError",
        "ServiceUnavailable",
        "channel closed",
        "tcp connect",
    ]);
    let short = text
        .split(" - ")
        .last()
        .unwrap_or(&text)
        .chars()
        .take(300)
        .collect::<String>();
    let err = Error::io(format!("{shown}: {short}"));
    if transient {
        Fail::transient(err)
    } else {
        Fail::permanent(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(msg: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: msg.to_string().into(),
        }
    }

    #[test]
    fn errors_are_classified_and_kept_on_one_line() {
        let f = fail(generic("Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?>\n<Error>\n  <Code>SignatureDoesNotMatch</Code>\n  <Message>The request\nsignature</Message></Error>"), "s3://b/k");
        assert!(!f.transient);
        assert!(
            f.error.message.starts_with("s3://b/k: access denied"),
            "{}",
            f.error.message
        );
        assert!(f.error.message.contains("AWS_SECRET_ACCESS_KEY"));
        let f = fail(generic("<Code>NoSuchBucket</Code>"), "s3://b");
        assert!(f.error.message.contains("does not exist") && !f.transient);
        let f = fail(
            generic("error sending request: tcp connect error: Connection refused (os error 111)"),
            "s3://b",
        );
        assert!(f.error.message.contains("connection refused") && f.transient);
        let f = fail(generic("Server returned non-2xx status code: 503 Service Unavailable: <Error><Code>SlowDown</Code></Error>"), "s3://b");
        assert!(f.transient, "{}", f.error.message);
        assert!(!f.error.message.contains('\n'));
        let f = fail(generic("Server returned non-2xx status code: 400 Bad Request: <Error><Code>InvalidArgument</Code><Message>bad</Message></Error>"), "s3://b");
        assert!(!f.transient);
        assert_eq!(f.error.kind.exit_code(), 3);
    }
}
