//! A batch of messages as a table: the columns key, value (or the
//! payload's own typed columns), topic, partition, offset, timestamp and
//! headers; payloads that do not parse become reject rows with the reason.

use polars::prelude::*;

use super::message::Message;
use super::options::StreamOptions;
use super::values;
use crate::error::{Error, Result};
use crate::format::ReadOptions;

/// The message columns other than the value, in table order after it.
pub const META_COLUMNS: &[&str] = &["topic", "partition", "offset", "timestamp", "headers"];
pub const REASON_COLUMN: &str = "reject_reason";

/// A batch as tables: the rows that parsed, and the rejects.
pub struct BatchTables {
    pub rows: DataFrame,
    pub rejects: DataFrame,
}

/// Turns a batch into its table and its rejects table.
pub fn to_tables(
    batch: &[Message],
    opts: &StreamOptions,
    read: &ReadOptions,
) -> Result<BatchTables> {
    let parsed = values::parse(batch, opts, read)?;
    let accepted: Vec<&Message> = parsed.accepted.iter().map(|&i| &batch[i]).collect();
    let mut cols = vec![key_column(&accepted, opts)];
    let value_cols = parsed.columns.columns().to_vec();
    for c in &value_cols {
        if c.name().as_str() == "key" || META_COLUMNS.contains(&c.name().as_str()) {
            return Err(Error::data(format!(
                "the payload field '{}' has the name of a message column (key, {}); rename it at the producer",
                c.name(),
                META_COLUMNS.join(", ")
            )));
        }
    }
    cols.extend(value_cols);
    cols.extend(meta_columns(&accepted)?);
    let rows = DataFrame::new(accepted.len(), cols)?;

    let rejected: Vec<&Message> = parsed.rejected.iter().map(|(i, _)| &batch[*i]).collect();
    let mut rcols = vec![key_column(&rejected, &StreamOptions::default())];
    rcols.push(Column::new(
        "value".into(),
        rejected
            .iter()
            .map(|m| {
                m.value
                    .as_deref()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
            .collect::<Vec<_>>(),
    ));
    rcols.extend(meta_columns(&rejected)?);
    rcols.push(Column::new(
        REASON_COLUMN.into(),
        parsed
            .rejected
            .iter()
            .map(|(_, r)| r.as_str())
            .collect::<Vec<_>>(),
    ));
    let rejects = DataFrame::new(rejected.len(), rcols)?;
    Ok(BatchTables { rows, rejects })
}

fn key_column(batch: &[&Message], opts: &StreamOptions) -> Column {
    if opts.value_format == super::ValueFormat::Bytes {
        let keys: Vec<Option<&[u8]>> = batch.iter().map(|m| m.key.as_deref()).collect();
        return Column::new("key".into(), keys);
    }
    Column::new(
        "key".into(),
        batch
            .iter()
            .map(|m| {
                m.key
                    .as_deref()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
            })
            .collect::<Vec<_>>(),
    )
}

fn meta_columns(batch: &[&Message]) -> Result<Vec<Column>> {
    let topic = Column::new(
        "topic".into(),
        batch.iter().map(|m| m.topic.as_str()).collect::<Vec<_>>(),
    );
    let partition = Column::new(
        "partition".into(),
        batch.iter().map(|m| m.partition).collect::<Vec<i32>>(),
    );
    let offset = Column::new(
        "offset".into(),
        batch.iter().map(|m| m.offset).collect::<Vec<i64>>(),
    );
    let timestamp = Column::new(
        "timestamp".into(),
        batch
            .iter()
            .map(|m| m.timestamp.map(|t| t * 1000))
            .collect::<Vec<Option<i64>>>(),
    )
    // Naive UTC: every format etl writes (Avro included) keeps it.
    .cast(&DataType::Datetime(TimeUnit::Microseconds, None))?;
    let headers = Column::new(
        "headers".into(),
        batch
            .iter()
            .map(|m| headers_json(&m.headers))
            .collect::<Vec<_>>(),
    );
    Ok(vec![topic, partition, offset, timestamp, headers])
}

/// Headers as a JSON array of `{"key": ..., "value": ...}` (order and
/// repeated keys kept; values as text, lossy for binary); null when none.
pub fn headers_json(headers: &[(String, Option<Vec<u8>>)]) -> Option<String> {
    if headers.is_empty() {
        return None;
    }
    let items: Vec<serde_json::Value> = headers
        .iter()
        .map(|(k, v)| {
            serde_json::json!({
                "key": k,
                "value": v.as_deref().map(|v| String::from_utf8_lossy(v).into_owned()),
            })
        })
        .collect();
    Some(serde_json::Value::Array(items).to_string())
}

/// The table schema of an empty batch (no payload to infer columns from).
pub fn empty_table(opts: &StreamOptions) -> Result<DataFrame> {
    let tables = to_tables(&[], opts, &ReadOptions::default())?;
    Ok(tables.rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::ValueFormat;

    fn msg(offset: i64, value: &str) -> Message {
        Message {
            key: Some(b"s1".to_vec()),
            value: Some(value.as_bytes().to_vec()),
            topic: "water".into(),
            partition: 0,
            offset,
            timestamp: Some(1_700_000_000_000),
            headers: vec![("src".into(), Some(b"sheet".to_vec()))],
        }
    }

    #[test]
    fn json_payloads_become_columns_and_bad_ones_rejects() {
        let opts = StreamOptions {
            value_format: ValueFormat::Json,
            ..StreamOptions::default()
        };
        let batch = [
            msg(0, r#"{"ph": 7.1, "site": "a"}"#),
            msg(1, "{not json"),
            msg(2, r#"{"ph": 6.9, "site": "b"}"#),
            msg(3, "[1, 2]"),
        ];
        let t = to_tables(&batch, &opts, &ReadOptions::default()).unwrap();
        let names: Vec<&str> = t
            .rows
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "key",
                "ph",
                "site",
                "topic",
                "partition",
                "offset",
                "timestamp",
                "headers"
            ]
        );
        assert_eq!(t.rows.column("ph").unwrap().dtype(), &DataType::Float64);
        let offsets: Vec<i64> = t
            .rows
            .column("offset")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(offsets, [0, 2]);
        assert_eq!(t.rejects.height(), 2);
        let reasons = t
            .rejects
            .column(REASON_COLUMN)
            .unwrap()
            .str()
            .unwrap()
            .clone();
        assert!(reasons.get(0).unwrap().contains("not JSON"), "{reasons:?}");
        assert!(
            reasons.get(1).unwrap().contains("not an object"),
            "{reasons:?}"
        );
        assert_eq!(
            t.rows.column("headers").unwrap().str().unwrap().get(0),
            Some(r#"[{"key":"src","value":"sheet"}]"#)
        );
    }
}
