//! Variables in pipeline files. `${NAME}` and `${NAME:-default}` come from
//! `--var` overrides, then the environment; `{name}` is a pipeline variable:
//! a runtime value (`{run_date}`, `{run_id}`, `{yyyy}`, `{mm}`, `{dd}`,
//! `{pipeline}`, `{root}`), an entry of `[vars]`, or a dataset's file
//! (`{silver.city}`). `{{` and `}}` are literal braces; braces around
//! anything that is not a name (a regex's `\d{5}`) are left alone.

use std::collections::BTreeMap;

/// Everything a `{name}` or `${NAME}` can resolve to.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `--var KEY=VALUE`: wins over everything.
    pub overrides: BTreeMap<String, String>,
    /// Runtime values and resolved `[vars]`.
    pub values: BTreeMap<String, String>,
}

impl Scope {
    fn env(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    }

    fn pipeline_var(&self, name: &str) -> Option<String> {
        self.overrides
            .get(name)
            .or_else(|| self.values.get(name))
            .cloned()
    }

    /// Expands `${...}` then `{...}` in `text`. The error lists every
    /// unknown name.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let env_done = crate::vars::expand(text, |n| self.env(n), "value")
            .map_err(|e| e.message.trim_start_matches("value: ").to_string())?;
        self.expand_braces(&env_done)
    }

    fn expand_braces(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut unknown = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find(['{', '}']) {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('{') {
                if let Some(end) = tail.find('}') {
                    let name = &tail[1..end];
                    if is_name(name) {
                        match self.pipeline_var(name) {
                            Some(v) => out.push_str(&v),
                            None => unknown.push(format!("{{{name}}}")),
                        }
                        rest = &tail[end + 1..];
                        continue;
                    }
                }
            }
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
        out.push_str(rest);
        if unknown.is_empty() {
            Ok(out)
        } else {
            let known: Vec<String> = self
                .values
                .keys()
                .chain(self.overrides.keys())
                .map(|k| format!("{{{k}}}"))
                .collect();
            Err(format!(
                "unknown variable {} (known: {}; write {{{{ for a literal brace)",
                unknown.join(", "),
                known.join(", ")
            ))
        }
    }

    /// Expands every string inside a TOML value (keys stay as written).
    pub fn expand_value(&self, value: &toml::Value) -> Result<toml::Value, String> {
        Ok(match value {
            toml::Value::String(s) => toml::Value::String(self.expand(s)?),
            toml::Value::Array(items) => toml::Value::Array(
                items
                    .iter()
                    .map(|v| self.expand_value(v))
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(t) => toml::Value::Table(
                t.iter()
                    .map(|(k, v)| Ok((k.clone(), self.expand_value(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let mut s = Scope::default();
        s.values.insert("run_date".into(), "2026-11-21".into());
        s.values
            .insert("silver.city".into(), "out/silver/city.parquet".into());
        s
    }

    #[test]
    fn names_expand_and_regex_braces_stay() {
        let s = scope();
        assert_eq!(
            s.expand("d={run_date} f={silver.city} re=\\d{5} {{x}}")
                .unwrap(),
            "d=2026-11-21 f=out/silver/city.parquet re=\\d{5} {x}"
        );
    }

    #[test]
    fn env_default_may_hold_pipeline_vars() {
        let s = scope();
        assert_eq!(
            s.expand("${ETL_TEST_SURELY_UNSET_VAR:-out/{run_date}}")
                .unwrap(),
            "out/2026-11-21"
        );
    }

    #[test]
    fn unknown_names_are_listed() {
        let e = scope().expand("{rundate} and {nope}").unwrap_err();
        assert!(e.contains("{rundate}, {nope}"), "{e}");
        assert!(e.contains("{run_date}"), "{e}");
    }

    #[test]
    fn overrides_win() {
        let mut s = scope();
        s.overrides.insert("run_date".into(), "2020-01-01".into());
        assert_eq!(s.expand("{run_date}").unwrap(), "2020-01-01");
    }
}
