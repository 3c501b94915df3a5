//! Hiding credentials in any text before it reaches a message, a log or a
//! manifest. Works on the text, not on a parsed URL, so a URL that does not
//! parse (a bad port, a password with a `/`) is hidden too, and so is a URL
//! inside a longer message (a library's error that quotes it).

/// Query parameters whose value is a secret (compared lowercase, without
/// `-`/`_`/`.`): passwords, tokens, signatures (S3 presigned, Azure SAS
/// `sig`, GCS), keys and secrets.
const SECRET_PARAMS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "sig",
    "key",
    "credential",
    "auth",
];

/// The text with every URL's password and secret query values shown as
/// `***`: `postgres://etl:***@host/db`, `s3://b/k?X-Amz-Signature=***`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(at);
        let body_start = at + 3;
        let body_len = rest[body_start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(rest.len() - body_start);
        // Punctuation that ends a sentence or a list is not part of the URL.
        let body_len = rest[body_start..body_start + body_len]
            .trim_end_matches([',', ';', ')', ']', '}', '.'])
            .len();
        out.push_str(&rest[..body_start]);
        let body = &rest[body_start..body_start + body_len];
        if scheme_start == at {
            out.push_str(body);
        } else {
            out.push_str(&redact_url_body(body));
        }
        rest = &rest[body_start + body_len..];
    }
    out.push_str(rest);
    out
}

/// `user:password@host:port/path?query#fragment` with the secrets hidden.
fn redact_url_body(body: &str) -> String {
    let authority_end = body.find(['/', '?', '#']).unwrap_or(body.len());
    let userinfo_end = match body[..authority_end].rfind('@') {
        Some(i) => Some(i),
        // A password holding '/', '?' or '#' unencoded: `u:pa/ss@host`.
        // Told apart from `host:22/path@x` by the port being digits.
        None => body[..authority_end].find(':').and_then(|colon| {
            let after = &body[colon + 1..authority_end];
            let is_port = !after.is_empty() && after.bytes().all(|b| b.is_ascii_digit());
            (!is_port).then(|| body.rfind('@')).flatten()
        }),
    };
    let mut out = String::with_capacity(body.len());
    let rest = match userinfo_end {
        Some(end) => {
            let userinfo = &body[..end];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push('@');
            &body[end + 1..]
        }
        None => body,
    };
    let Some(q) = rest.find('?') else {
        out.push_str(rest);
        return out;
    };
    out.push_str(&rest[..=q]);
    let (query, fragment) = match rest[q + 1..].find('#') {
        Some(h) => (&rest[q + 1..q + 1 + h], &rest[q + 1 + h..]),
        None => (&rest[q + 1..], ""),
    };
    let mut first = true;
    for pair in query.split('&') {
        if !first {
            out.push('&');
        }
        first = false;
        match pair.split_once('=') {
            Some((k, _)) if is_secret_param(k) => {
                out.push_str(k);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    out.push_str(fragment);
    out
}

fn is_secret_param(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_PARAMS.iter().any(|s| key.contains(s))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn userinfo_is_hidden_even_when_the_url_does_not_parse() {
        assert_eq!(
            redact("postgres://u:SeCrEt@h:99999/db"),
            "postgres://u:***@h:99999/db"
        );
        assert_eq!(
            redact("sftp://u:pa/ss@host/x.csv"),
            "sftp://u:***@host/x.csv"
        );
        assert_eq!(redact("mysql://u:p@ss@host/db"), "mysql://u:***@host/db");
        assert_eq!(redact("sftp://host:22/a@b.csv"), "sftp://host:22/a@b.csv");
        assert_eq!(redact("postgres://etl@h/db"), "postgres://etl@h/db");
    }

    #[test]
    fn secret_query_parameters_are_hidden() {
        assert_eq!(
            redact("postgres://u@h/db?sslmode=require&password=SeCrEt"),
            "postgres://u@h/db?sslmode=require&password=***"
        );
        assert_eq!(
            redact("az://c/x.csv?sv=2022-11-02&sp=r&sig=AbC%2Bd#frag"),
            "az://c/x.csv?sv=2022-11-02&sp=r&sig=***#frag"
        );
        assert_eq!(
            redact("s3://b/k?X-Amz-Signature=abc&X-Amz-Security-Token=t&X-Amz-Date=1"),
            "s3://b/k?X-Amz-Signature=***&X-Amz-Security-Token=***&X-Amz-Date=1"
        );
        assert_eq!(
            redact("gs://b/k?api_key=1&access_token=2&client_secret=3"),
            "gs://b/k?api_key=***&access_token=***&client_secret=***"
        );
    }

    #[test]
    fn urls_inside_a_message_are_hidden() {
        assert_eq!(
            redact(
                "cannot connect to 'postgres://u:SeCrEt@h/db' (refused); retry s3://b/?token=x y"
            ),
            "cannot connect to 'postgres://u:***@h/db' (refused); retry s3://b/?token=*** y"
        );
        assert_eq!(
            redact("from s3://b/?sig=x, az://c/?sig=y."),
            "from s3://b/?sig=***, az://c/?sig=***."
        );
        assert_eq!(redact("no url here: a:b@c"), "no url here: a:b@c");
        assert_eq!(redact("://x:y@z"), "://x:y@z");
    }
}
