//! Column types as users write them (`int`, `float64`, `date`,
//! `decimal(10,2)`, `datetime[ms]`), and schemas as `col:type,...`.

use polars::prelude::*;

use crate::error::{Error, Result};

pub const TYPE_NAMES: &str =
    "bool, int8, int16, int32, int64 (int), uint8..uint64, float32, float64 (float), str (string), date, datetime (datetime[ms|us|ns]), time, decimal(p,s), binary";

pub fn parse_dtype(text: &str) -> Result<DataType> {
    let t = text.trim().to_ascii_lowercase();
    let dtype = match t.as_str() {
        "bool" | "boolean" => DataType::Boolean,
        "int8" | "i8" | "tinyint" => DataType::Int8,
        "int16" | "i16" | "smallint" => DataType::Int16,
        "int32" | "i32" => DataType::Int32,
        "int" | "integer" | "int64" | "i64" | "bigint" | "long" => DataType::Int64,
        "uint8" | "u8" => DataType::UInt8,
        "uint16" | "u16" => DataType::UInt16,
        "uint32" | "u32" => DataType::UInt32,
        "uint64" | "u64" => DataType::UInt64,
        "float32" | "f32" | "real" => DataType::Float32,
        "float" | "float64" | "f64" | "double" => DataType::Float64,
        "str" | "string" | "utf8" | "text" | "varchar" => DataType::String,
        "binary" | "bytes" => DataType::Binary,
        "date" => DataType::Date,
        "time" => DataType::Time,
        "datetime" | "timestamp" | "datetime[us]" => {
            DataType::Datetime(TimeUnit::Microseconds, None)
        }
        "datetime[ms]" => DataType::Datetime(TimeUnit::Milliseconds, None),
        "datetime[ns]" => DataType::Datetime(TimeUnit::Nanoseconds, None),
        "timestamptz" | "datetime[utc]" => {
            DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        }
        other => {
            if let Some(args) = other
                .strip_prefix("decimal(")
                .and_then(|r| r.strip_suffix(')'))
            {
                let (p, s) = args.split_once(',').unwrap_or((args, "0"));
                let precision: usize = p.trim().parse().map_err(|_| bad_type(text))?;
                let scale: usize = s.trim().parse().map_err(|_| bad_type(text))?;
                if precision == 0 || precision > 38 || scale > precision {
                    return Err(Error::usage(format!(
                        "decimal({p},{s}): precision must be 1..38 and scale at most the precision"
                    )));
                }
                DataType::Decimal(precision, scale)
            } else {
                return Err(bad_type(text));
            }
        }
    };
    Ok(dtype)
}

fn bad_type(text: &str) -> Error {
    Error::usage(format!(
        "unknown column type '{text}' (known: {TYPE_NAMES})"
    ))
}

/// `id:int,name:str` or the path of a file with one `name:type` per line.
pub fn parse_schema(text: &str) -> Result<Schema> {
    let body = if std::path::Path::new(text).is_file() {
        std::fs::read_to_string(text).map_err(|e| Error::from(e).context(text))?
    } else {
        text.to_string()
    };
    let mut schema = Schema::default();
    for item in body
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
    {
        // decimal(10,2) holds a comma: rejoin handled by splitting on the last ':' only.
        let (name, ty) = item.rsplit_once(':').ok_or_else(|| {
            Error::usage(format!(
                "schema entry '{item}' must look like name:type (e.g. id:int)"
            ))
        })?;
        schema.with_column(name.trim().into(), parse_dtype(ty)?);
    }
    if schema.is_empty() {
        return Err(Error::usage(
            "the schema is empty: give name:type pairs, e.g. id:int,name:str",
        ));
    }
    Ok(schema)
}

/// A short, stable name for a type in previews and `inspect`.
pub fn display_dtype(dtype: &DataType) -> String {
    match dtype {
        DataType::String => "str".into(),
        DataType::Datetime(unit, None) => format!("datetime[{unit}]"),
        DataType::Datetime(unit, Some(tz)) => format!("datetime[{unit}, {tz}]"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings() {
        assert_eq!(parse_dtype("INT").unwrap(), DataType::Int64);
        assert_eq!(parse_dtype("str").unwrap(), DataType::String);
        assert_eq!(
            parse_dtype("datetime[ms]").unwrap(),
            DataType::Datetime(TimeUnit::Milliseconds, None)
        );
        assert_eq!(
            parse_dtype("decimal(10,2)").unwrap(),
            DataType::Decimal(10, 2)
        );
        assert!(parse_dtype("integer64")
            .unwrap_err()
            .message
            .contains("unknown column type 'integer64'"));
    }

    #[test]
    fn schema_from_text() {
        let s = parse_schema("id:int, name:str,born:date").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.get("born"), Some(&DataType::Date));
        assert!(parse_schema("id").is_err());
    }
}
