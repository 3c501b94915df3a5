//! Flags of `etl clean` and `etl transform`: each op flag becomes an
//! [`etl::ops::Op`], in the order the flags were given, after the ops of
//! `--ops` files. The same ops can be written in files (`--ops`) or inline
//! as TOML (`--op`).

use std::collections::BTreeMap;

use clap::{ArgMatches, Args};
use etl::error::{Error, Result};
use etl::ops::spec::{self, Op};

/// Flags shared by clean and transform: input, ops files, rejects.
#[derive(Debug, Clone, Args)]
pub struct StepArgs {
    /// The table to read: a file, folder, glob or URL. Default: stdin (`-`).
    #[arg(value_name = "INPUT")]
    pub input: Option<String>,

    /// The table to read (same as INPUT).
    #[arg(
        short = 'i',
        long = "input",
        value_name = "LOCATION",
        conflicts_with = "input"
    )]
    pub input_flag: Option<String>,

    /// Run the ops of a TOML file (`[[ops]]` tables, in order) before the op flags.
    #[arg(long = "ops", value_name = "FILE", help_heading = "Ops")]
    pub ops_files: Vec<String>,

    /// One op written as TOML, e.g. `--op 'top-n = { n = 5, partition-by = ["state"], order-by = ["trx desc"] }'`.
    #[arg(id = "op", long = "op", value_name = "TOML", help_heading = "Ops")]
    pub inline: Vec<String>,

    /// Write rows that fail checks here (any format, by extension), with `_rule` and `_reason` columns.
    #[arg(long, value_name = "LOCATION", help_heading = "Checks")]
    pub rejects: Option<String>,

    /// Fail (exit 1) when more than N rows are rejected.
    #[arg(long, value_name = "N", help_heading = "Checks")]
    pub max_rejects: Option<u64>,

    /// Fail (exit 1) when more than P percent of rows are rejected.
    #[arg(long, value_name = "P", help_heading = "Checks")]
    pub max_reject_pct: Option<f64>,
}

/// Turns one occurrence of an op flag into an op.
type Build = fn(&[String]) -> Result<Op>;

/// The op flags, by clap id, and how each becomes an op.
pub const OP_FLAGS: &[(&str, Build)] = &[
    ("select", |v| Ok(Op::Select(list(&v[0])))),
    ("rename", |v| {
        Ok(Op::Rename(pairs(&v[0], '=', "--rename OLD=NEW")?))
    }),
    ("drop", |v| Ok(Op::Drop(list(&v[0])))),
    ("cast", |v| {
        Ok(Op::Cast(spec::Cast {
            columns: pairs(&v[0], ':', "--cast COL:TYPE")?,
            quarantine: false,
        }))
    }),
    ("cast_or_reject", |v| {
        Ok(Op::Cast(spec::Cast {
            columns: pairs(&v[0], ':', "--cast-or-reject COL:TYPE")?,
            quarantine: true,
        }))
    }),
    ("trim", |v| Ok(Op::Trim(list(&v[0])))),
    ("upper", |v| Ok(Op::Upper(list(&v[0])))),
    ("lower", |v| Ok(Op::Lower(list(&v[0])))),
    ("title", |v| Ok(Op::Title(list(&v[0])))),
    ("replace", |v| {
        Ok(Op::Replace(spec::Replace {
            column: v[0].clone(),
            pattern: v[1].clone(),
            with: v[2].clone(),
        }))
    }),
    ("extract", |v| {
        Ok(Op::Extract(spec::Extract {
            column: v[0].clone(),
            pattern: v[1].clone(),
            group: 0,
            into: None,
            dtype: v.get(2).cloned(),
        }))
    }),
    ("concat", |v| {
        Ok(Op::Concat(spec::Concat {
            into: v[0].clone(),
            sep: v[1].clone(),
            columns: v[2..].to_vec(),
        }))
    }),
    ("constant", |v| {
        let (column, value) = split_pair(&v[0], '=', "--constant COL=VALUE")?;
        Ok(Op::Constant(spec::Constant {
            column,
            value: scalar(&value),
        }))
    }),
    ("fill_null", |v| {
        let (column, what) = split_pair(&v[0], '=', "--fill-null COL=VALUE|mean|median|mode")?;
        let with = match what.as_str() {
            "mean" => Some(spec::FillWith::Mean),
            "median" => Some(spec::FillWith::Median),
            "mode" => Some(spec::FillWith::Mode),
            _ => None,
        };
        let value = with.is_none().then(|| scalar(&what));
        Ok(Op::FillNull(spec::FillNull {
            column,
            with,
            value,
            by: Vec::new(),
            round: None,
            dtype: None,
        }))
    }),
    ("drop_nulls", |v| Ok(Op::DropNulls(list(&v[0])))),
    ("dedup", |v| {
        Ok(Op::Dedup(spec::Dedup {
            key: v.first().map(|k| list(k)).unwrap_or_default(),
            keep: spec::Keep::First,
        }))
    }),
    ("filter", |v| Ok(Op::Filter(v[0].clone()))),
    ("derive", |v| {
        let (column, sql) = split_pair(&v[0], '=', "--derive COL=SQL")?;
        Ok(Op::Derive(spec::Derive { column, sql }))
    }),
    ("parse_date", |v| {
        Ok(Op::ParseDate(spec::ParseDate {
            column: v[0].clone(),
            format: v[1].clone(),
            dtype: None,
            into: None,
        }))
    }),
    ("lookup", |v| {
        Ok(Op::Lookup(spec::Lookup {
            column: v[0].clone(),
            table: v[1].clone(),
            key: v[2].clone(),
            value: v[3].clone(),
            into: None,
        }))
    }),
    ("not_null", |v| Ok(check(spec::Rule::NotNull, list(&v[0])))),
    ("unique", |v| Ok(check(spec::Rule::Unique, list(&v[0])))),
    ("check_npi", |v| Ok(check(spec::Rule::Npi, list(&v[0])))),
    ("check_state", |v| {
        Ok(check(spec::Rule::UsState, list(&v[0])))
    }),
    ("check_sql", |v| {
        Ok(Op::Check(spec::Check {
            rule: spec::Rule::Sql,
            sql: Some(v[0].clone()),
            ..check_base(spec::Rule::Sql)
        }))
    }),
    ("sql", |v| {
        Ok(Op::Sql(spec::Sql {
            query: sql_text(&v[0])?,
            name: None,
            with: BTreeMap::new(),
        }))
    }),
    ("sort", |v| Ok(Op::Sort(list(&v[0])))),
    ("limit", |v| {
        v[0].parse()
            .map(Op::Limit)
            .map_err(|_| Error::usage(format!("--limit takes a whole number, not '{}'", v[0])))
    }),
    ("union", |v| Ok(Op::Union(vec![v[0].clone()]))),
    ("op", |v| etl::ops::parse_inline(&v[0])),
];

/// `--sql QUERY`, or `--sql @FILE` to read the query from a file.
fn sql_text(v: &str) -> Result<String> {
    match v.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| Error::from(e).context(path)),
        None => Ok(v.to_string()),
    }
}

fn check_base(rule: spec::Rule) -> spec::Check {
    spec::Check {
        rule,
        column: None,
        columns: Vec::new(),
        min: None,
        max: None,
        pattern: None,
        values: Vec::new(),
        sql: None,
    }
}

fn check(rule: spec::Rule, columns: Vec<String>) -> Op {
    Op::Check(spec::Check {
        columns,
        ..check_base(rule)
    })
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn split_pair(v: &str, sep: char, form: &str) -> Result<(String, String)> {
    v.split_once(sep)
        .map(|(a, b)| (a.trim().to_string(), b.to_string()))
        .filter(|(a, _)| !a.is_empty())
        .ok_or_else(|| Error::usage(format!("'{v}': write {form}")))
}

fn pairs(v: &str, sep: char, form: &str) -> Result<BTreeMap<String, String>> {
    list(v)
        .iter()
        .map(|p| split_pair(p, sep, form).map(|(a, b)| (a, b.trim().to_string())))
        .collect()
}

/// A flag value as a typed scalar: integer, float, bool, or text.
fn scalar(v: &str) -> serde_json::Value {
    if let Ok(i) = v.parse::<i64>() {
        return i.into();
    }
    if let Ok(f) = v.parse::<f64>() {
        return f.into();
    }
    match v {
        "true" => true.into(),
        "false" => false.into(),
        _ => v.into(),
    }
}

/// The ops of `--ops` files, then those of the op flags in command-line order.
pub fn ops_in_order(step: &StepArgs, matches: &ArgMatches) -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    for file in &step.ops_files {
        let text = std::fs::read_to_string(file).map_err(|e| Error::from(e).context(file))?;
        ops.extend(etl::ops::parse_ops_file(&text, file)?);
    }
    let mut flagged: Vec<(usize, Op)> = Vec::new();
    for (id, build) in OP_FLAGS {
        let Ok(Some(occurrences)) = matches.try_get_occurrences::<String>(id) else {
            continue;
        };
        let indices: Vec<usize> = matches
            .indices_of(id)
            .map(|i| i.collect())
            .unwrap_or_default();
        let mut at = 0;
        for occurrence in occurrences {
            let values: Vec<String> = occurrence.cloned().collect();
            let index = indices.get(at).copied().unwrap_or(usize::MAX);
            at += values.len().max(1);
            let flag = format!("--{}", id.replace('_', "-"));
            flagged.push((index, build(&values).map_err(|e| e.context(&flag))?));
        }
    }
    flagged.sort_by_key(|(i, _)| *i);
    ops.extend(flagged.into_iter().map(|(_, op)| op));
    Ok(ops)
}
