//! Text columns that hold dates: CSV and JSON have no date type, so text
//! columns whose sampled values all look like ISO dates or datetimes become
//! Date / Datetime columns. A regex screens values first, which is far
//! cheaper than trying every date pattern on every value.

use std::sync::OnceLock;

use polars::prelude::*;

/// How many non-null values of a column are looked at.
const SAMPLE: usize = 1000;

fn date_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^\d{4}-\d{2}-\d{2}$").unwrap())
}

fn datetime_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$").unwrap()
    })
}

fn zoned_datetime_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?[+-]\d{2}:\d{2}$")
            .unwrap()
    })
}

/// Strict casts for the text columns of `sample` that hold only ISO dates or
/// datetimes; columns the user typed in `given` are left alone.
pub fn casts(sample: &DataFrame, given: Option<&Schema>) -> Vec<Expr> {
    let mut casts = Vec::new();
    for column in sample.columns() {
        let name = column.name();
        if column.dtype() != &DataType::String || given.is_some_and(|s| s.contains(name)) {
            continue;
        }
        let Ok(values) = column.str() else { continue };
        let sample: Vec<&str> = values.iter().flatten().take(SAMPLE).collect();
        if sample.is_empty() {
            continue;
        }
        if sample.iter().all(|v| date_re().is_match(v)) {
            casts.push(col(name.clone()).str().to_date(StrptimeOptions {
                format: Some("%Y-%m-%d".into()),
                strict: true,
                ..Default::default()
            }));
        } else if sample.iter().all(|v| datetime_re().is_match(v)) {
            casts.push(col(name.clone()).str().to_datetime(
                Some(TimeUnit::Microseconds),
                None,
                StrptimeOptions {
                    strict: true,
                    ..Default::default()
                },
                lit("raise"),
            ));
        } else if sample.iter().all(|v| zoned_datetime_re().is_match(v)) {
            // ISO 8601 with an offset (as etl and Spark write JSON): UTC instants.
            casts.push(col(name.clone()).str().to_datetime(
                Some(TimeUnit::Microseconds),
                Some(TimeZone::UTC),
                StrptimeOptions {
                    format: Some("%Y-%m-%dT%H:%M:%S%.f%:z".into()),
                    strict: true,
                    ..Default::default()
                },
                lit("raise"),
            ));
        }
    }
    casts
}

/// A date (days since 1970-01-01, as polars keeps it) as `2026-11-30`; None
/// past chrono's range.
pub fn iso_date(days: i32) -> Option<String> {
    chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163)
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// A timestamp as `2026-11-30T12:00:00.123456`, with a `Z` for zoned
/// columns (polars keeps them in UTC).
pub fn iso_datetime(t: i64, unit: TimeUnit, zoned: bool) -> String {
    let dt = match unit {
        TimeUnit::Nanoseconds => chrono::DateTime::from_timestamp_nanos(t),
        TimeUnit::Microseconds => chrono::DateTime::from_timestamp_micros(t).unwrap_or_default(),
        TimeUnit::Milliseconds => chrono::DateTime::from_timestamp_millis(t).unwrap_or_default(),
    };
    let text = dt.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string();
    if zoned {
        text + "Z"
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_all_iso_columns_are_cast() {
        let df = df!(
            "d" => [Some("2024-01-31"), None, Some("1999-12-31")],
            "t" => ["2024-01-31T10:00:00", "2024-01-31 10:00:00.5", "2000-01-01T00:00:00"],
            "x" => ["2024-01-31", "soon", "2024-02-01"],
            "n" => [1, 2, 3]
        )
        .unwrap();
        let wanted = casts(&df, None);
        let out = df.lazy().with_columns(wanted).collect().unwrap();
        assert_eq!(out.column("d").unwrap().dtype(), &DataType::Date);
        assert_eq!(
            out.column("t").unwrap().dtype(),
            &DataType::Datetime(TimeUnit::Microseconds, None)
        );
        assert_eq!(out.column("x").unwrap().dtype(), &DataType::String);
    }
}
