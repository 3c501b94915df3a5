//! What a report shows: declared charts, written on the command line as
//! `bar x=presc_state y=sum(trx_cnt) top=20` or in a pipeline file as the
//! same words or a table (`{ kind = "bar", x = "presc_state", y = "sum(trx_cnt)" }`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The chart kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// One bar per value of `x` (the top N by `y`), `y` an aggregate (default `count(*)`).
    Bar,
    /// `y` aggregated per value of `x` (per time bucket for dates), in `x` order.
    Line,
    /// `x` against `y`: counts on a grid of cells, or one point per `by` group.
    Scatter,
    /// Counts of `x` in equal-width bins.
    Histogram,
}

impl ChartKind {
    pub const NAMES: &'static str = "bar, line, scatter, histogram";
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Bar => "bar",
            ChartKind::Line => "line",
            ChartKind::Scatter => "scatter",
            ChartKind::Histogram => "histogram",
        }
    }
}

/// One declared chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ChartSpec {
    pub kind: ChartKind,
    /// The column on the x axis (bar: the categories).
    pub x: String,
    /// bar, line: an aggregate such as `sum(trx_cnt)` (default `count(*)`);
    /// scatter: a column, or an aggregate when `by` is given.
    #[serde(default)]
    pub y: Option<String>,
    /// scatter: one point per value of this column, `x` and `y` aggregates.
    #[serde(default)]
    pub by: Option<String>,
    /// bar: how many bars (default 20).
    #[serde(default)]
    pub top: Option<usize>,
    /// histogram: how many bins (default 30); scatter: grid cells per axis (default 40).
    #[serde(default)]
    pub bins: Option<usize>,
    /// line over dates: the bucket, `day`, `week`, `month`, `quarter` or `year` (default: chosen from the span).
    #[serde(default)]
    pub every: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// A chart in a pipeline file: the command-line words or a table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ChartEntry {
    Words(String),
    Table(ChartSpec),
}

impl ChartEntry {
    pub fn spec(&self) -> Result<ChartSpec> {
        match self {
            ChartEntry::Words(w) => w.parse(),
            ChartEntry::Table(t) => {
                t.check()?;
                Ok(t.clone())
            }
        }
    }
}

const KEYS: &str = "x, y, by, top, bins, every, title";

impl FromStr for ChartSpec {
    type Err = Error;

    fn from_str(text: &str) -> Result<ChartSpec> {
        let bad = |msg: String| Error::usage(format!("chart '{text}': {msg}"));
        let words = split_words(text).map_err(bad)?;
        let (kind, rest) = words
            .split_first()
            .ok_or_else(|| bad(format!("name a kind first ({})", ChartKind::NAMES)))?;
        let kind = match kind.as_str() {
            "bar" => ChartKind::Bar,
            "line" => ChartKind::Line,
            "scatter" => ChartKind::Scatter,
            "histogram" | "hist" => ChartKind::Histogram,
            other => {
                return Err(bad(format!(
                    "unknown chart kind '{other}' (known: {})",
                    ChartKind::NAMES
                )))
            }
        };
        let mut spec = ChartSpec {
            kind,
            x: String::new(),
            y: None,
            by: None,
            top: None,
            bins: None,
            every: None,
            title: None,
        };
        for w in rest {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| bad(format!("'{w}': write key=value ({KEYS})")))?;
            let number = |v: &str| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(format!("{k}={v}: a whole number above 0 is needed")))
            };
            match k {
                "x" => spec.x = v.to_string(),
                "y" => spec.y = Some(v.to_string()),
                "by" => spec.by = Some(v.to_string()),
                "top" => spec.top = Some(number(v)?),
                "bins" => spec.bins = Some(number(v)?),
                "every" => spec.every = Some(v.to_string()),
                "title" => spec.title = Some(v.to_string()),
                other => return Err(bad(format!("unknown key '{other}' (known: {KEYS})"))),
            }
        }
        spec.check().map_err(|e| bad(e.message))?;
        Ok(spec)
    }
}

impl ChartSpec {
    /// Checks what can be checked without a schema.
    pub fn check(&self) -> Result<()> {
        if self.x.is_empty() {
            return Err(Error::usage("x=COLUMN is needed"));
        }
        match self.kind {
            ChartKind::Scatter if self.y.is_none() => {
                return Err(Error::usage("a scatter chart needs y=COLUMN"))
            }
            ChartKind::Histogram if self.y.is_some() => {
                return Err(Error::usage("a histogram counts x: it takes no y"))
            }
            _ => {}
        }
        if let Some(every) = &self.every {
            if !EVERY.contains(&every.as_str()) {
                return Err(Error::usage(format!(
                    "every={every}: use one of {}",
                    EVERY.join(", ")
                )));
            }
        }
        if self.top.is_some_and(|n| n > 500) || self.bins.is_some_and(|n| n > 500) {
            return Err(Error::usage("top and bins are at most 500"));
        }
        // A grid of N×N cells: keep the page small.
        if self.kind == ChartKind::Scatter && self.bins.is_some_and(|n| n > 60) {
            return Err(Error::usage("a scatter grid has at most 60 bins per axis"));
        }
        Ok(())
    }
}

pub const EVERY: &[&str] = &["day", "week", "month", "quarter", "year"];

impl fmt::Display for ChartSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} x={}", self.kind.name(), self.x)?;
        for (k, v) in [("y", &self.y), ("by", &self.by), ("every", &self.every)] {
            if let Some(v) = v {
                write!(f, " {k}={v}")?;
            }
        }
        for (k, v) in [("top", self.top), ("bins", self.bins)] {
            if let Some(v) = v {
                write!(f, " {k}={v}")?;
            }
        }
        Ok(())
    }
}

/// Splits on white space, keeping quoted parts (`title='Claims by state'`)
/// and parentheses (`y=count( * )`) together.
fn split_words(text: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                cur.push(c)
            }
            (None, ')') => {
                depth = depth.saturating_sub(1);
                cur.push(c)
            }
            (None, c) if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            (None, c) if c.is_whitespace() => {}
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_into_specs() {
        let s: ChartSpec = "bar x=presc_state y=sum(trx_cnt) top=20 title='Claims by state'"
            .parse()
            .unwrap();
        assert_eq!(s.kind, ChartKind::Bar);
        assert_eq!(s.x, "presc_state");
        assert_eq!(s.y.as_deref(), Some("sum(trx_cnt)"));
        assert_eq!(s.top, Some(20));
        assert_eq!(s.title.as_deref(), Some("Claims by state"));
        let s: ChartSpec = "line x=day y=count( * ) every=month".parse().unwrap();
        assert_eq!(s.y.as_deref(), Some("count(*)"));
    }

    #[test]
    fn bad_words_say_what_is_wrong() {
        let e = "pie x=a".parse::<ChartSpec>().unwrap_err();
        assert!(
            e.message.contains("unknown chart kind 'pie'"),
            "{}",
            e.message
        );
        let e = "bar x=a colour=red".parse::<ChartSpec>().unwrap_err();
        assert!(e.message.contains("unknown key 'colour'"), "{}", e.message);
        let e = "bar y=sum(a)".parse::<ChartSpec>().unwrap_err();
        assert!(e.message.contains("x=COLUMN"), "{}", e.message);
        let e = "bar x=a top=0".parse::<ChartSpec>().unwrap_err();
        assert!(e.message.contains("top=0"), "{}", e.message);
        let e = "scatter x=a y=b bins=100".parse::<ChartSpec>().unwrap_err();
        assert!(e.message.contains("at most 60"), "{}", e.message);
        let e = "scatter x=a".parse::<ChartSpec>().unwrap_err();
        assert!(e.message.contains("needs y"), "{}", e.message);
    }

    #[test]
    fn pipeline_entries_take_words_or_tables() {
        #[derive(Deserialize)]
        struct R {
            charts: Vec<ChartEntry>,
        }
        let r: R = toml::from_str(
            r#"charts = ["histogram x=a bins=10", { kind = "bar", x = "s", y = "sum(v)", top = 5 }]"#,
        )
        .unwrap();
        assert_eq!(r.charts[0].spec().unwrap().bins, Some(10));
        assert_eq!(r.charts[1].spec().unwrap().top, Some(5));
    }
}
