//! Rows to InfluxDB line protocol: `measurement,tag=v field=1i,s="x" TIME`.
//!
//! Escaping as InfluxDB's own parser reads it (checked against the server
//! through its `/query` API in tests/cli/sink_influx.rs): commas and
//! spaces in the measurement; commas, equals signs and spaces in tag keys,
//! tag values and field keys; double quotes and backslashes in string
//! field values. Other backslashes are literal there, so a name or tag
//! value that ends in a backslash cannot be written (the backslash would
//! escape the separator after it), and neither can a newline outside a
//! string field: both are refused with the row and column named.

use polars::prelude::*;

use crate::db::load::SeriesOptions;
use crate::error::{Error, Result};
use crate::format::temporal::{iso_date, iso_datetime};

/// The timestamps' unit, as the write API's `precision` parameter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Ns,
    Us,
    Ms,
    S,
}

impl Precision {
    /// The name in the v1 API (`/write?precision=`).
    pub fn v1(self) -> &'static str {
        match self {
            Precision::Ns => "n",
            Precision::Us => "u",
            Precision::Ms => "ms",
            Precision::S => "s",
        }
    }
    /// The name in the v2 API (`/api/v2/write?precision=`).
    pub fn v2(self) -> &'static str {
        match self {
            Precision::Ns => "ns",
            Precision::Us => "us",
            Precision::Ms => "ms",
            Precision::S => "s",
        }
    }
}

/// How one field column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    /// `12i`
    Int,
    /// `12i`, refused above i64::MAX (InfluxDB 1.x has no unsigned fields).
    UInt,
    /// `1.5`; NaN and infinities are refused (InfluxDB stores neither).
    Float,
    /// The exact decimal text, read by the server as a float.
    Decimal,
    Bool,
    Str,
    /// Dates and timestamps as ISO 8601 strings (UTC `Z` with a zone).
    Date,
    Datetime(TimeUnit, bool),
    /// Times and durations as polars writes them, as strings.
    Text,
}

/// Which column goes where, worked out once from the schema.
#[derive(Debug, Clone)]
pub struct Layout {
    measurement: Vec<u8>,
    /// Escaped key and column name, sorted by key (InfluxDB's advice).
    tags: Vec<(Vec<u8>, String)>,
    fields: Vec<(Vec<u8>, String, FieldKind)>,
    time: String,
    time_is_date: bool,
    pub precision: Precision,
}

/// Lines of one batch, with what a rejection message needs.
#[derive(Debug)]
pub struct Lines {
    pub text: Vec<u8>,
    pub points: usize,
    /// Rows with every field null: InfluxDB has no point without a field.
    pub skipped: usize,
    /// Where each line starts in `text`.
    starts: Vec<usize>,
    /// Per field, the first line that has it (to name a rejected line).
    first_with: Vec<Option<usize>>,
    field_names: Vec<String>,
}

impl Lines {
    /// Line `i` (0-based) without its newline.
    pub fn line(&self, i: usize) -> &str {
        let start = self.starts[i];
        let end = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        std::str::from_utf8(&self.text[start..end])
            .unwrap_or("")
            .trim_end_matches('\n')
    }

    /// The first line that writes field `name`, if any.
    pub fn first_line_with_field(&self, name: &str) -> Option<usize> {
        let i = self.field_names.iter().position(|f| f == name)?;
        self.first_with[i]
    }
}

/// Checks the options against the schema and decides each column's role:
/// `time` is the timestamp, `tags` are tags, every other column a field.
pub fn plan(schema: &Schema, opts: &SeriesOptions) -> Result<Layout> {
    let measurement = opts
        .measurement
        .as_deref()
        .ok_or_else(|| Error::usage("InfluxDB needs --measurement NAME"))?;
    if measurement.starts_with('#') {
        return Err(Error::usage(format!(
            "--measurement {measurement:?}: a line starting with # is a comment in line protocol"
        )));
    }
    let measurement = escape_name(measurement, &[',', ' '])
        .map_err(|why| Error::usage(format!("--measurement {measurement:?}: {why}")))?;
    let time = opts.time.clone().ok_or_else(|| {
        Error::usage("InfluxDB needs --time COL (points of a series with the same time overwrite each other)")
    })?;
    let mut wanted = opts.tags.clone();
    wanted.push(time.clone());
    crate::names::require_columns(schema, &wanted, "--tags/--time")?;
    if opts.tags.contains(&time) {
        return Err(Error::usage(format!(
            "column '{time}' is the --time column and cannot also be a tag"
        )));
    }
    let time_is_date;
    let precision = match schema.get(&time).expect("checked above") {
        DataType::Datetime(TimeUnit::Nanoseconds, _) => {
            time_is_date = false;
            Precision::Ns
        }
        DataType::Datetime(TimeUnit::Microseconds, _) => {
            time_is_date = false;
            Precision::Us
        }
        DataType::Datetime(TimeUnit::Milliseconds, _) => {
            time_is_date = false;
            Precision::Ms
        }
        DataType::Date => {
            time_is_date = true;
            Precision::S
        }
        other => {
            return Err(Error::usage(format!(
                "--time {time}: a timestamp or date column is needed, not {} (cast it first, e.g. etl transform --sql \"select *, cast({time} as timestamp) as {time} from input\")",
                crate::dtype::display_dtype(other)
            )))
        }
    };
    let mut tags = Vec::new();
    for t in &opts.tags {
        tags.push((key_of(t, "tag")?, t.clone()));
    }
    tags.sort();
    let mut fields = Vec::new();
    for (name, dtype) in schema.iter() {
        let name = name.as_str();
        if name == time || opts.tags.iter().any(|t| t == name) {
            continue;
        }
        let kind = field_kind(dtype).ok_or_else(|| {
            Error::usage(format!(
                "column '{name}': InfluxDB fields are numbers, booleans or strings, not {} (drop or cast the column, or make it a tag)",
                crate::dtype::display_dtype(dtype)
            ))
        })?;
        fields.push((key_of(name, "field")?, name.to_string(), kind));
    }
    if fields.is_empty() {
        return Err(Error::usage(
            "InfluxDB needs at least one field: every column is a tag or the time",
        ));
    }
    Ok(Layout {
        measurement,
        tags,
        fields,
        time,
        time_is_date,
        precision,
    })
}

fn key_of(name: &str, what: &str) -> Result<Vec<u8>> {
    if name == "time" {
        return Err(Error::usage(format!(
            "column 'time' cannot be a {what}: InfluxDB keeps that name for the timestamp (rename it, or pass it as --time)"
        )));
    }
    escape_name(name, &[',', '=', ' '])
        .map_err(|why| Error::usage(format!("column '{name}' as a {what} key: {why}")))
}

fn field_kind(dtype: &DataType) -> Option<FieldKind> {
    Some(match dtype {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => FieldKind::Int,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => FieldKind::Int,
        DataType::UInt64 => FieldKind::UInt,
        DataType::Float32 | DataType::Float64 => FieldKind::Float,
        DataType::Decimal(..) => FieldKind::Decimal,
        DataType::Boolean => FieldKind::Bool,
        DataType::String | DataType::Categorical(..) | DataType::Enum(..) => FieldKind::Str,
        DataType::Date => FieldKind::Date,
        DataType::Datetime(unit, tz) => FieldKind::Datetime(*unit, tz.is_some()),
        DataType::Time | DataType::Duration(_) => FieldKind::Text,
        _ => return None,
    })
}

/// A name (measurement, tag or field key) escaped; Err says why it cannot be.
fn escape_name(text: &str, specials: &[char]) -> std::result::Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(text.len() + 4);
    push_escaped(&mut out, text, specials)?;
    if out.is_empty() {
        return Err("an empty name cannot be written in line protocol");
    }
    Ok(out)
}

fn push_escaped(
    out: &mut Vec<u8>,
    text: &str,
    specials: &[char],
) -> std::result::Result<(), &'static str> {
    if text.ends_with('\\') {
        return Err("a trailing backslash cannot be written in line protocol (it would escape the separator after it)");
    }
    for c in text.chars() {
        if c == '\n' || c == '\r' {
            return Err("a line break cannot be written in line protocol outside a string field");
        }
        if specials.contains(&c) {
            out.push(b'\\');
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Ok(())
}

fn push_string_field(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for b in text.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// A field column in the form the line writer reads.
enum FieldCol {
    Int(Int64Chunked),
    UInt(UInt64Chunked),
    Float(Float64Chunked),
    Bool(BooleanChunked),
    Str(StringChunked),
    Date(Int32Chunked),
    Datetime(Int64Chunked, TimeUnit, bool),
}

fn field_col(s: &Series, kind: FieldKind) -> Result<FieldCol> {
    let s = s.rechunk();
    Ok(match kind {
        FieldKind::Int => FieldCol::Int(s.cast(&DataType::Int64)?.i64()?.clone()),
        FieldKind::UInt => FieldCol::UInt(s.u64()?.clone()),
        FieldKind::Float => FieldCol::Float(s.cast(&DataType::Float64)?.f64()?.clone()),
        FieldKind::Bool => FieldCol::Bool(s.bool()?.clone()),
        // Exact decimal text, times and durations: polars' own text.
        FieldKind::Decimal | FieldKind::Str | FieldKind::Text => {
            FieldCol::Str(s.cast(&DataType::String)?.str()?.clone())
        }
        FieldKind::Date => FieldCol::Date(s.to_physical_repr().i32()?.clone()),
        FieldKind::Datetime(unit, tz) => {
            FieldCol::Datetime(s.to_physical_repr().i64()?.clone(), unit, tz)
        }
    })
}

/// Encodes the rows of `df` (row numbers shown from `first_row + 1`).
pub fn encode(layout: &Layout, df: &DataFrame, first_row: u64) -> Result<Lines> {
    let n = df.height();
    let tag_cols: Vec<StringChunked> = layout
        .tags
        .iter()
        .map(|(_, name)| -> Result<StringChunked> {
            let s = df.column(name)?.as_materialized_series().rechunk();
            Ok(s.cast(&DataType::String)?.str()?.clone())
        })
        .collect::<Result<_>>()?;
    let field_cols: Vec<FieldCol> = layout
        .fields
        .iter()
        .map(|(_, name, kind)| field_col(df.column(name)?.as_materialized_series(), *kind))
        .collect::<Result<_>>()?;
    let time = df
        .column(&layout.time)?
        .as_materialized_series()
        .rechunk()
        .to_physical_repr()
        .into_owned();
    let (time_days, time_ticks) = if layout.time_is_date {
        (Some(time.i32()?.clone()), None)
    } else {
        (None, Some(time.i64()?.clone()))
    };
    let mut out = Lines {
        text: Vec::with_capacity(n * 64),
        points: 0,
        skipped: 0,
        starts: Vec::with_capacity(n),
        first_with: vec![None; layout.fields.len()],
        field_names: layout.fields.iter().map(|f| f.1.clone()).collect(),
    };
    let mut ints = itoa::Buffer::new();
    let mut floats = ryu::Buffer::new();
    for row in 0..n {
        let row_no = first_row + row as u64 + 1;
        let at = |column: &str, why: &str| {
            Error::data(format!("row {row_no}, column '{column}': {why}"))
        };
        let start = out.text.len();
        let buf = &mut out.text;
        buf.extend_from_slice(&layout.measurement);
        for ((key, name), col) in layout.tags.iter().zip(&tag_cols) {
            // InfluxDB has no empty tag values: a null or empty tag is left out.
            match col.get(row) {
                Some(v) if !v.is_empty() => {
                    buf.push(b',');
                    buf.extend_from_slice(key);
                    buf.push(b'=');
                    push_escaped(buf, v, &[',', '=', ' ']).map_err(|why| at(name, why))?;
                }
                _ => {}
            }
        }
        let mut sep = b' ';
        let mut written = Vec::new();
        for (i, ((key, name, _), col)) in layout.fields.iter().zip(&field_cols).enumerate() {
            let before = buf.len();
            buf.push(sep);
            buf.extend_from_slice(key);
            buf.push(b'=');
            let present = match col {
                FieldCol::Int(c) => c.get(row).map(|v| {
                    buf.extend_from_slice(ints.format(v).as_bytes());
                    buf.push(b'i');
                }),
                FieldCol::UInt(c) => match c.get(row) {
                    Some(v) if v > i64::MAX as u64 => {
                        return Err(at(
                            name,
                            &format!("{v} is above InfluxDB's largest integer (2^63-1)"),
                        ))
                    }
                    Some(v) => {
                        buf.extend_from_slice(ints.format(v).as_bytes());
                        buf.push(b'i');
                        Some(())
                    }
                    None => None,
                },
                FieldCol::Float(c) => match c.get(row) {
                    Some(v) if !v.is_finite() => {
                        return Err(at(
                            name,
                            &format!("{v} cannot be stored in InfluxDB (only finite numbers)"),
                        ))
                    }
                    Some(v) => {
                        buf.extend_from_slice(floats.format_finite(v).as_bytes());
                        Some(())
                    }
                    None => None,
                },
                FieldCol::Bool(c) => c.get(row).map(|v| {
                    buf.extend_from_slice(if v { b"true" } else { b"false" });
                }),
                FieldCol::Str(c) => c.get(row).map(|v| push_string_field(buf, v)),
                FieldCol::Date(c) => c.get(row).map(|d| {
                    push_string_field(buf, &iso_date(d).unwrap_or_default());
                }),
                FieldCol::Datetime(c, unit, tz) => c.get(row).map(|t| {
                    push_string_field(buf, &iso_datetime(t, *unit, *tz));
                }),
            };
            if present.is_some() {
                sep = b',';
                written.push(i);
            } else {
                buf.truncate(before);
            }
        }
        if written.is_empty() {
            buf.truncate(start);
            out.skipped += 1;
            continue;
        }
        buf.push(b' ');
        match (&time_days, &time_ticks) {
            (Some(days), _) => match days.get(row) {
                Some(d) => buf.extend_from_slice(ints.format(d as i64 * 86_400).as_bytes()),
                None => return Err(at(&layout.time, "no time (a point needs one)")),
            },
            (_, Some(ticks)) => match ticks.get(row) {
                Some(t) => buf.extend_from_slice(ints.format(t).as_bytes()),
                None => return Err(at(&layout.time, "no time (a point needs one)")),
            },
            _ => unreachable!("one of the two is set"),
        }
        buf.push(b'\n');
        for i in written {
            out.first_with[i].get_or_insert(out.points);
        }
        out.starts.push(start);
        out.points += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(tags: &[&str]) -> SeriesOptions {
        SeriesOptions {
            measurement: Some("water level".into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            time: Some("t".into()),
            force_recreate: false,
        }
    }

    fn frame() -> DataFrame {
        let t = Series::new("t".into(), [1_000i64, 2_000, 3_000])
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .unwrap();
        DataFrame::new(
            3,
            vec![
                t.into(),
                Column::new("site,a=b".into(), [Some("x y"), None, Some("q\\z")]),
                Column::new("n".into(), [Some(1i64), None, None]),
                Column::new("s".into(), [Some("say \"hi\" \\"), None, None]),
                Column::new("ok".into(), [Some(true), None, Some(false)]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn escapes_each_part_as_the_spec_says() {
        let df = frame();
        let layout = plan(df.schema(), &opts(&["site,a=b"])).unwrap();
        assert_eq!(layout.precision, Precision::Us);
        let lines = encode(&layout, &df, 0).unwrap();
        assert_eq!(lines.points, 2);
        assert_eq!(lines.skipped, 1);
        assert_eq!(
            lines.line(0),
            r#"water\ level,site\,a\=b=x\ y n=1i,s="say \"hi\" \\",ok=true 1000"#
        );
        assert_eq!(
            lines.line(1),
            r#"water\ level,site\,a\=b=q\z ok=false 3000"#
        );
        assert_eq!(lines.first_line_with_field("ok"), Some(0));
        assert_eq!(lines.first_line_with_field("n"), Some(0));
    }

    #[test]
    fn refuses_what_line_protocol_cannot_hold() {
        let df = frame();
        let mut o = opts(&[]);
        o.time = None;
        assert!(plan(df.schema(), &o)
            .unwrap_err()
            .message
            .contains("--time"));
        let bad = DataFrame::new(
            1,
            vec![
                Series::new("t".into(), [1i64])
                    .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
                    .unwrap()
                    .into(),
                Column::new("tag".into(), ["ends\\"]),
                Column::new("v".into(), [f64::NAN]),
            ],
        )
        .unwrap();
        let layout = plan(bad.schema(), &opts(&["tag"])).unwrap();
        let e = encode(&layout, &bad, 41).unwrap_err();
        assert!(e.message.contains("row 42, column 'tag'"), "{}", e.message);
        let layout = plan(bad.schema(), &opts(&[])).unwrap();
        let e = encode(&layout, &bad, 0).unwrap_err();
        assert!(e.message.contains("column 'v'"), "{}", e.message);
    }
}
