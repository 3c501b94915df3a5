//! Spark SQL for the text ops (see `text.rs`). Regexes get the same ASCII
//! digit classes as locally; Java's regex dialect reads them alike.

use super::check_regex;
use super::spark_sql::{
    ident, select_replacing, spark_type, string_lit, with_column, Input, Refusal, SparkSql,
    Translated,
};
use super::spec::{Concat, Extract, ParseDate, Replace};
use crate::error::Error;

pub fn map_text(
    input: &Input,
    cols: &[String],
    what: &str,
    f: fn(&str) -> String,
) -> Translated<SparkSql> {
    input.need(cols, what)?;
    if input.columns.is_none() {
        return Ok(SparkSql::query(format!(
            "SELECT * FROM {}",
            ident(input.view)
        )));
    }
    Ok(SparkSql::query(select_replacing(
        input,
        &|c| cols.iter().any(|x| x == c).then(|| f(&ident(c))),
        &[],
    )))
}

pub fn replace(input: &Input, r: &Replace) -> Translated<SparkSql> {
    input.need(std::slice::from_ref(&r.column), "replace")?;
    let pattern = check_regex(&r.pattern, "replace")?;
    let expr = format!(
        "regexp_replace({}, {}, {})",
        ident(&r.column),
        string_lit(&pattern),
        string_lit(&r.with)
    );
    Ok(SparkSql::query(with_column(input, &r.column, &expr)))
}

/// Spark's regexp_extract gives '' where etl gives null (no match): only
/// rows that match are extracted.
pub fn extract(input: &Input, x: &Extract) -> Translated<SparkSql> {
    input.need(std::slice::from_ref(&x.column), "extract")?;
    let pattern = check_regex(&x.pattern, "extract")?;
    let groups = regex::Regex::new(&pattern)
        .map(|r| r.captures_len())
        .unwrap_or(1);
    if x.group >= groups {
        return Err(Error::usage(format!(
            "extract: the pattern '{}' has no group {}",
            x.pattern, x.group
        ))
        .into());
    }
    let c = ident(&x.column);
    let p = string_lit(&pattern);
    let mut expr = format!(
        "CASE WHEN {c} RLIKE {p} THEN regexp_extract({c}, {p}, {}) END",
        x.group
    );
    if let Some(ty) = &x.dtype {
        expr = format!("CAST({expr} AS {})", spark_type(ty)?);
    }
    let into = x.into.as_deref().unwrap_or(&x.column);
    Ok(SparkSql::query(with_column(input, into, &expr)))
}

/// concat_ws skips nulls as etl does; all-null is null (Spark gives '').
pub fn concat(input: &Input, c: &Concat) -> Translated<SparkSql> {
    input.need(&c.columns, "concat")?;
    if c.columns.is_empty() {
        return Err(Error::usage("concat: name at least one column").into());
    }
    let any = c
        .columns
        .iter()
        .map(|n| format!("{} IS NOT NULL", ident(n)))
        .collect::<Vec<_>>()
        .join(" OR ");
    let parts = c
        .columns
        .iter()
        .map(|n| format!("CAST({} AS STRING)", ident(n)))
        .collect::<Vec<_>>()
        .join(", ");
    let expr = format!(
        "CASE WHEN {any} THEN concat_ws({}, {parts}) END",
        string_lit(&c.sep)
    );
    Ok(SparkSql::query(with_column(input, &c.into, &expr)))
}

/// strftime formats as Java's DateTimeFormatter patterns; ANSI mode makes
/// a value that does not parse an error, as locally.
pub fn parse_date(input: &Input, p: &ParseDate) -> Translated<SparkSql> {
    input.need(std::slice::from_ref(&p.column), "parse-date")?;
    let pattern = java_pattern(&p.format)?;
    let function = match p.dtype.as_deref().unwrap_or("date") {
        "date" => "to_date",
        "datetime" | "timestamp" => "to_timestamp_ntz",
        other => {
            return Err(Error::usage(format!(
                "parse-date: type must be date or datetime, not '{other}'"
            ))
            .into())
        }
    };
    let expr = format!("{function}({}, {})", ident(&p.column), string_lit(&pattern));
    let into = p.into.as_deref().unwrap_or(&p.column);
    Ok(SparkSql::query(with_column(input, into, &expr)))
}

fn java_pattern(format: &str) -> Translated<String> {
    let mut out = String::new();
    let mut literal = String::new();
    let flush = |out: &mut String, literal: &mut String| {
        if !literal.is_empty() {
            out.push('\'');
            out.push_str(&literal.replace('\'', "''"));
            out.push('\'');
            literal.clear();
        }
    };
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            if c.is_ascii_alphabetic() || c == '\'' {
                literal.push(c);
            } else {
                flush(&mut out, &mut literal);
                out.push(c);
            }
            continue;
        }
        flush(&mut out, &mut literal);
        let spec = chars.next().unwrap_or('%');
        out.push_str(match spec {
            'Y' => "yyyy",
            'y' => "yy",
            'm' => "MM",
            'd' => "dd",
            'H' => "HH",
            'M' => "mm",
            'S' => "ss",
            'b' | 'h' => "MMM",
            'B' => "MMMM",
            'j' => "DDD",
            'F' => "yyyy-MM-dd",
            'T' => "HH:mm:ss",
            '%' => "%",
            other => {
                return Err(Refusal::NoTranslation(format!(
                    "parse-date: the format %{other} is not translated to Spark yet"
                )))
            }
        });
    }
    flush(&mut out, &mut literal);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_becomes_java_patterns() {
        assert_eq!(java_pattern("%m/%d/%Y").unwrap(), "MM/dd/yyyy");
        assert_eq!(
            java_pattern("%Y-%m-%dT%H:%M").unwrap(),
            "yyyy-MM-dd'T'HH:mm"
        );
        assert!(java_pattern("%Z").is_err());
    }
}
