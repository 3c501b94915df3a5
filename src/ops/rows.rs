//! Row ops: filter by an SQL predicate, dedup, sort.

use polars::prelude::*;

use super::need;
use super::spec::{Dedup, Keep};
use crate::error::{Error, Result};
use crate::frame::Frame;

pub fn filter(frame: Frame, schema: &Schema, predicate: &str) -> Result<Frame> {
    let expr = super::sql::expression(predicate, schema)?;
    frame.map(move |lf| lf.filter(expr.clone()))
}

pub fn dedup(frame: Frame, schema: &Schema, d: &Dedup) -> Result<Frame> {
    need(schema, &d.key, "dedup")?;
    let subset =
        (!d.key.is_empty()).then(|| d.key.iter().map(|k| col(k.as_str())).collect::<Vec<_>>());
    let keep = match d.keep {
        Keep::First => UniqueKeepStrategy::First,
        Keep::Last => UniqueKeepStrategy::Last,
    };
    frame
        .into_lazy()?
        .map(move |lf| lf.unique_stable_generic(subset.clone(), keep))
}

pub fn sort(frame: Frame, schema: &Schema, keys: &[String]) -> Result<Frame> {
    let keys = parse_order(keys)?;
    let names: Vec<String> = keys.iter().map(|k| k.column.clone()).collect();
    need(schema, &names, "sort")?;
    let (exprs, options) = sort_options(&keys);
    frame
        .into_lazy()?
        .map_keep_rows(move |lf| lf.sort_by_exprs(exprs.clone(), options.clone()))
}

/// One key of an ordering: `trx_cnt desc nulls first`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    pub column: String,
    pub descending: bool,
    pub nulls_last: bool,
}

/// Parses `col`, `col desc`, `col asc nulls first`. Nulls sort last unless
/// said otherwise, as in Spark and DuckDB.
pub fn parse_order(keys: &[String]) -> Result<Vec<OrderKey>> {
    keys.iter()
        .map(|k| {
            let words: Vec<String> = k.split_whitespace().map(str::to_string).collect();
            let (column, rest) = words
                .split_first()
                .ok_or_else(|| Error::usage("an empty ordering key"))?;
            let rest: Vec<String> = rest.iter().map(|w| w.to_ascii_lowercase()).collect();
            let mut key = OrderKey {
                column: column.clone(),
                descending: false,
                nulls_last: true,
            };
            match rest
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
            {
                [] | ["asc"] => {}
                ["desc"] => key.descending = true,
                ["nulls", n] | ["asc", "nulls", n] => key.nulls_last = *n == "last",
                ["desc", "nulls", n] => {
                    key.descending = true;
                    key.nulls_last = *n == "last";
                }
                _ => {
                    return Err(Error::usage(format!(
                        "ordering '{k}': write `column`, `column desc`, or add `nulls first|last`"
                    )))
                }
            }
            Ok(key)
        })
        .collect()
}

pub fn sort_options(keys: &[OrderKey]) -> (Vec<Expr>, SortMultipleOptions) {
    let exprs = keys.iter().map(|k| col(k.column.as_str())).collect();
    let options = SortMultipleOptions::default()
        .with_order_descending_multi(keys.iter().map(|k| k.descending))
        .with_nulls_last_multi(keys.iter().map(|k| k.nulls_last))
        .with_maintain_order(true);
    (exprs, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orderings_parse() {
        let k = parse_order(&["a".into(), "b DESC".into(), "c asc nulls first".into()]).unwrap();
        assert_eq!(
            k[0],
            OrderKey {
                column: "a".into(),
                descending: false,
                nulls_last: true
            }
        );
        assert!(k[1].descending && k[1].nulls_last);
        assert!(!k[2].descending && !k[2].nulls_last);
        assert!(parse_order(&["a sideways".into()]).is_err());
    }
}
