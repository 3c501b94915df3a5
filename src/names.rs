//! Column names users type: checked against a schema, with close matches
//! suggested for typos.

use polars::prelude::Schema;

use crate::error::{Error, Result};

/// Fails with the unknown names and the closest existing ones.
pub fn require_columns(schema: &Schema, wanted: &[String], what: &str) -> Result<()> {
    let missing: Vec<&String> = wanted.iter().filter(|w| !schema.contains(w)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
    let parts: Vec<String> = missing
        .iter()
        .map(|m| match closest(m, &known) {
            Some(c) => format!("'{m}' (did you mean '{c}'?)"),
            None => format!("'{m}'"),
        })
        .collect();
    Err(Error::usage(format!(
        "{what}: unknown column {}; the columns are: {}",
        parts.join(", "),
        known.join(", ")
    )))
}

/// The known name nearest to `name` by edit distance, if reasonably near.
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn suggests_close_names() {
        let schema = Schema::from_iter([
            Field::new("presc_id".into(), DataType::Int64),
            Field::new("drug_name".into(), DataType::String),
        ]);
        let e = require_columns(&schema, &["drug_nme".to_string()], "--select").unwrap_err();
        assert!(
            e.message.contains("'drug_nme' (did you mean 'drug_name'?)"),
            "{}",
            e.message
        );
        assert!(require_columns(&schema, &["presc_id".to_string()], "--select").is_ok());
        assert_eq!(closest("zzzzzz", &["presc_id"]), None);
    }
}
