//! `${VAR}` and `${VAR:-default}` in ops and pipeline files, from the
//! environment (or any lookup). `$$` is a literal `$`.

use crate::error::{Error, Result};

/// Expands variables in `text`; every unset variable without a default is
/// reported at once.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>, shown: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = closing_brace(body)
                .ok_or_else(|| Error::usage(format!("{shown}: '${{' without a closing '}}'")))?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            match lookup(name)
                .filter(|v| !v.is_empty())
                .or(default.map(str::to_string))
            {
                Some(v) => out.push_str(&v),
                None => missing.push(name.to_string()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|m| format!("${{{m}}}")).collect();
        return Err(Error::usage(format!(
            "{shown}: {} not set (export it, or write ${{NAME:-default}})",
            names.join(", ")
        )));
    }
    Ok(out)
}

/// The `}` that closes a `${`, skipping nested `{...}` pairs (a default
/// may hold a pipeline variable: `${DIR:-{root}/x}`).
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// [`expand`] from the process environment.
pub fn expand_env(text: &str, shown: &str) -> Result<String> {
    expand(text, |n| std::env::var(n).ok(), shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_defaults_and_reports_all_missing() {
        let env = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(
            expand("x=${A} y=${B:-2} $$5 $z", env, "f").unwrap(),
            "x=1 y=2 $5 $z"
        );
        let e = expand("${C} ${D}", env, "f.toml").unwrap_err();
        assert!(e.message.contains("${C}, ${D} not set"), "{}", e.message);
    }
}
