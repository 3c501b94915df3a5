//! Reading tables from databases: `--query SQL` or `--table NAME` against
//! postgres://, mysql:// or sqlite://. Rows stream out in batches of
//! [`BATCH_ROWS`] from a thread of their own; the frame's schema comes from
//! the query's column types:
//!
//! | PostgreSQL | MariaDB/MySQL | SQLite | polars |
//! |---|---|---|---|
//! | boolean | TINYINT(1) | BOOLEAN | Boolean |
//! | smallint / integer / bigint | TINYINT..BIGINT (UNSIGNED too) | INTEGER | Int8..Int64, UInt8..UInt64 |
//! | real / double precision | FLOAT / DOUBLE | REAL | Float32 / Float64 |
//! | numeric(p,s) (p ≤ 38) | DECIMAL(p,s) (p ≤ 38) | — | Decimal(p,s) |
//! | numeric (no precision) | DECIMAL (p > 38) | NUMERIC | Float64 |
//! | text, varchar, char, json(b), uuid, enums | CHAR, VARCHAR, TEXT, JSON, ENUM, SET | TEXT | String |
//! | bytea | BINARY, VARBINARY, BLOB | BLOB | Binary |
//! | date | DATE | — | Date |
//! | timestamp | DATETIME, TIMESTAMP | — | Datetime(µs) |
//! | timestamptz | — | — | Datetime(µs, UTC) |
//! | time | TIME | — | Time |
//! | interval (no months) | — | — | Duration(µs) |
//!
//! Other types are refused with the column's name: cast them in `--query`.

use std::sync::mpsc;

use polars::prelude::*;

use crate::db::{self, Dialect, TableName};
use crate::error::{Error, Result};
use crate::frame::{BatchStream, Frame};
use crate::location::{RemoteUrl, Scheme};

/// Rows per batch handed downstream.
pub const BATCH_ROWS: usize = 65_536;

/// What to read from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbRead {
    /// The rows of this SQL query, sent as written.
    Query(String),
    /// Every row of this table (`TABLE` or `SCHEMA.TABLE`, quoted by etl).
    Table(String),
}

/// Whether a location is a database to run a query against.
pub fn is_database(loc: &crate::location::Location) -> bool {
    matches!(loc, crate::location::Location::Remote(r)
        if matches!(r.scheme, Scheme::Postgres | Scheme::Mysql | Scheme::Sqlite))
}

/// Opens the rows of `what` as a frame of batches. Connection and query
/// errors surface here, before any row is read.
pub fn open(remote: &RemoteUrl, what: &DbRead) -> Result<Frame> {
    let dialect = match remote.scheme {
        Scheme::Mysql => Dialect::Mysql,
        _ => Dialect::Postgres,
    };
    let sql = match what {
        DbRead::Query(q) if q.trim().is_empty() => {
            return Err(Error::usage("--query needs an SQL query"))
        }
        DbRead::Query(q) => q.trim().trim_end_matches(';').to_string(),
        DbRead::Table(t) => format!("SELECT * FROM {}", TableName::parse(t)?.quoted(dialect)?),
    };
    let (schema_tx, schema_rx) = mpsc::sync_channel::<Result<SchemaRef>>(1);
    let (batch_tx, batch_rx) = mpsc::sync_channel::<Result<DataFrame>>(2);
    let url = remote.url.clone();
    let scheme = remote.scheme;
    std::thread::Builder::new()
        .name("etl-db-read".into())
        .spawn(move || {
            let out = Out {
                schema: Some(schema_tx),
                batches: batch_tx,
            };
            match scheme {
                Scheme::Postgres => postgres(&url, &sql, out),
                Scheme::Mysql => mysql(&url, &sql, out),
                _ => sqlite(&url, &sql, out),
            }
        })?;
    let schema = schema_rx
        .recv()
        .map_err(|_| Error::io(format!("{}: the reader stopped", db::shown(&remote.url))))??;
    Ok(Frame::batches(BatchStream {
        schema,
        batches: Box::new(batch_rx.into_iter()),
    }))
}

/// Where the reader thread sends the schema (once) and the batches.
struct Out {
    schema: Option<mpsc::SyncSender<Result<SchemaRef>>>,
    batches: mpsc::SyncSender<Result<DataFrame>>,
}

impl Out {
    /// Reports an error wherever the consumer is waiting.
    fn fail(&mut self, e: Error) {
        match self.schema.take() {
            Some(s) => {
                let _ = s.send(Err(e));
            }
            None => {
                let _ = self.batches.send(Err(e));
            }
        }
    }

    fn schema(&mut self, schema: SchemaRef) {
        if let Some(s) = self.schema.take() {
            let _ = s.send(Ok(schema));
        }
    }

    /// False when the consumer went away (e.g. after --limit).
    fn batch(&mut self, df: DataFrame) -> bool {
        self.batches.send(Ok(df)).is_ok()
    }
}

/// Column values gathered for one batch.
enum Builder {
    Bool(Vec<Option<bool>>),
    I8(Vec<Option<i8>>),
    I16(Vec<Option<i16>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    U8(Vec<Option<u8>>),
    U16(Vec<Option<u16>>),
    U32(Vec<Option<u32>>),
    U64(Vec<Option<u64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    Str(Vec<Option<String>>),
    Bin(Vec<Option<Vec<u8>>>),
    /// Days since 1970-01-01.
    Date(Vec<Option<i32>>),
    /// Microseconds since 1970-01-01, with the zone if aware.
    Datetime(Vec<Option<i64>>, bool),
    /// Nanoseconds since midnight.
    Time(Vec<Option<i64>>),
    /// Microseconds.
    Duration(Vec<Option<i64>>),
    Decimal(Vec<Option<i128>>, usize, usize),
}

impl Builder {
    fn for_dtype(dtype: &DataType) -> Builder {
        match dtype {
            DataType::Boolean => Builder::Bool(Vec::new()),
            DataType::Int8 => Builder::I8(Vec::new()),
            DataType::Int16 => Builder::I16(Vec::new()),
            DataType::Int32 => Builder::I32(Vec::new()),
            DataType::Int64 => Builder::I64(Vec::new()),
            DataType::UInt8 => Builder::U8(Vec::new()),
            DataType::UInt16 => Builder::U16(Vec::new()),
            DataType::UInt32 => Builder::U32(Vec::new()),
            DataType::UInt64 => Builder::U64(Vec::new()),
            DataType::Float32 => Builder::F32(Vec::new()),
            DataType::Float64 => Builder::F64(Vec::new()),
            DataType::Binary => Builder::Bin(Vec::new()),
            DataType::Date => Builder::Date(Vec::new()),
            DataType::Datetime(_, tz) => Builder::Datetime(Vec::new(), tz.is_some()),
            DataType::Time => Builder::Time(Vec::new()),
            DataType::Duration(_) => Builder::Duration(Vec::new()),
            DataType::Decimal(p, s) => Builder::Decimal(Vec::new(), *p, *s),
            _ => Builder::Str(Vec::new()),
        }
    }

    fn push_null(&mut self) {
        match self {
            Builder::Bool(v) => v.push(None),
            Builder::I8(v) => v.push(None),
            Builder::I16(v) => v.push(None),
            Builder::I32(v) => v.push(None),
            Builder::I64(v) => v.push(None),
            Builder::U8(v) => v.push(None),
            Builder::U16(v) => v.push(None),
            Builder::U32(v) => v.push(None),
            Builder::U64(v) => v.push(None),
            Builder::F32(v) => v.push(None),
            Builder::F64(v) => v.push(None),
            Builder::Str(v) => v.push(None),
            Builder::Bin(v) => v.push(None),
            Builder::Date(v) => v.push(None),
            Builder::Datetime(v, _) => v.push(None),
            Builder::Time(v) => v.push(None),
            Builder::Duration(v) => v.push(None),
            Builder::Decimal(v, ..) => v.push(None),
        }
    }

    /// The gathered values as a column; the builder is emptied.
    fn take(&mut self, name: &str) -> Result<Column> {
        let n: PlSmallStr = name.into();
        let s = match self {
            Builder::Bool(v) => Series::new(n, std::mem::take(v)),
            Builder::I8(v) => Series::new(n, std::mem::take(v)),
            Builder::I16(v) => Series::new(n, std::mem::take(v)),
            Builder::I32(v) => Series::new(n, std::mem::take(v)),
            Builder::I64(v) => Series::new(n, std::mem::take(v)),
            Builder::U8(v) => Series::new(n, std::mem::take(v)),
            Builder::U16(v) => Series::new(n, std::mem::take(v)),
            Builder::U32(v) => Series::new(n, std::mem::take(v)),
            Builder::U64(v) => Series::new(n, std::mem::take(v)),
            Builder::F32(v) => Series::new(n, std::mem::take(v)),
            Builder::F64(v) => Series::new(n, std::mem::take(v)),
            Builder::Str(v) => Series::new(n, std::mem::take(v)),
            Builder::Bin(v) => Series::new(n, std::mem::take(v)),
            Builder::Date(v) => Series::new(n, std::mem::take(v)).cast(&DataType::Date)?,
            Builder::Datetime(v, aware) => Series::new(n, std::mem::take(v)).cast(
                &DataType::Datetime(TimeUnit::Microseconds, aware.then_some(TimeZone::UTC)),
            )?,
            Builder::Time(v) => Series::new(n, std::mem::take(v)).cast(&DataType::Time)?,
            Builder::Duration(v) => Series::new(n, std::mem::take(v))
                .cast(&DataType::Duration(TimeUnit::Microseconds))?,
            Builder::Decimal(v, p, s) => Int128Chunked::from_slice_options(n, &std::mem::take(v))
                .into_decimal(*p, *s)?
                .into_series(),
        };
        Ok(s.into_column())
    }
}

/// Collects rows into batches of [`BATCH_ROWS`] and sends them.
struct Batcher {
    names: Vec<String>,
    builders: Vec<Builder>,
    rows: usize,
}

impl Batcher {
    fn new(schema: &Schema) -> Batcher {
        Batcher {
            names: schema.iter_names().map(|n| n.to_string()).collect(),
            builders: schema.iter_values().map(Builder::for_dtype).collect(),
            rows: 0,
        }
    }

    fn flush(&mut self) -> Result<DataFrame> {
        let cols = self
            .names
            .iter()
            .zip(self.builders.iter_mut())
            .map(|(n, b)| b.take(n))
            .collect::<Result<Vec<_>>>()?;
        let rows = self.rows;
        self.rows = 0;
        Ok(DataFrame::new(rows, cols)?)
    }

    /// After a row: sends a full batch. False when the consumer went away.
    fn row_done(&mut self, out: &mut Out) -> Result<bool> {
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            let df = self.flush()?;
            return Ok(out.batch(df));
        }
        Ok(true)
    }

    fn finish(&mut self, out: &mut Out) -> Result<()> {
        if self.rows > 0 {
            let df = self.flush()?;
            out.batch(df);
        }
        Ok(())
    }
}

fn schema_of(cols: Vec<(String, DataType)>) -> Result<SchemaRef> {
    let mut schema = Schema::with_capacity(cols.len());
    for (name, dtype) in cols {
        if schema.contains(&name) {
            return Err(Error::usage(format!(
                "the query returns two columns named '{name}': give them distinct names (AS)"
            )));
        }
        schema.insert(name.into(), dtype);
    }
    if schema.is_empty() {
        return Err(Error::usage("the query returns no columns"));
    }
    Ok(Arc::new(schema))
}

// ------------------------------------------------------------ PostgreSQL

/// A value as the server sent it (binary format), for any type.
struct Raw<'a>(&'a [u8]);

impl<'a> tokio_postgres::types::FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}

#[derive(Clone, Copy)]
enum PgIn {
    Bool,
    I16,
    I32,
    I64,
    Oid,
    F32,
    F64,
    Numeric(Option<usize>),
    Text,
    Jsonb,
    Uuid,
    Bytea,
    Date,
    Timestamp,
    Time,
    Interval,
}

fn pg_column(c: &tokio_postgres::Column) -> Result<(PgIn, DataType)> {
    use tokio_postgres::types::{Kind, Type};
    let t = c.type_();
    Ok(match *t {
        Type::BOOL => (PgIn::Bool, DataType::Boolean),
        Type::INT2 => (PgIn::I16, DataType::Int16),
        Type::INT4 => (PgIn::I32, DataType::Int32),
        Type::INT8 => (PgIn::I64, DataType::Int64),
        Type::OID => (PgIn::Oid, DataType::Int64),
        Type::FLOAT4 => (PgIn::F32, DataType::Float32),
        Type::FLOAT8 => (PgIn::F64, DataType::Float64),
        Type::NUMERIC => {
            let m = c.type_modifier();
            let (p, s) = if m >= 4 {
                (
                    (((m - 4) >> 16) & 0xffff) as usize,
                    ((m - 4) & 0xffff) as usize,
                )
            } else {
                (0, 0)
            };
            if (1..=38).contains(&p) && s <= p {
                (PgIn::Numeric(Some(s)), DataType::Decimal(p, s))
            } else {
                (PgIn::Numeric(None), DataType::Float64)
            }
        }
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::JSON
        | Type::XML
        | Type::UNKNOWN
        | Type::CHAR => (PgIn::Text, DataType::String),
        Type::JSONB => (PgIn::Jsonb, DataType::String),
        Type::UUID => (PgIn::Uuid, DataType::String),
        Type::BYTEA => (PgIn::Bytea, DataType::Binary),
        Type::DATE => (PgIn::Date, DataType::Date),
        Type::TIMESTAMP => (
            PgIn::Timestamp,
            DataType::Datetime(TimeUnit::Microseconds, None),
        ),
        Type::TIMESTAMPTZ => (
            PgIn::Timestamp,
            DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        ),
        Type::TIME => (PgIn::Time, DataType::Time),
        Type::INTERVAL => (PgIn::Interval, DataType::Duration(TimeUnit::Microseconds)),
        _ if matches!(t.kind(), Kind::Enum(_)) => (PgIn::Text, DataType::String),
        // citext and other text-like extension types send text.
        _ if t.name() == "citext" => (PgIn::Text, DataType::String),
        _ => {
            return Err(Error::unsupported(format!(
                "column '{}' of PostgreSQL type {} (cast it in --query, e.g. {}::text)",
                c.name(),
                t.name(),
                c.name()
            )))
        }
    })
}

fn be<const N: usize>(raw: &[u8], col: &str) -> Result<[u8; N]> {
    raw.try_into().map_err(|_| {
        Error::data(format!(
            "column '{col}': unexpected value size {}",
            raw.len()
        ))
    })
}

/// PostgreSQL's binary NUMERIC as an integer at `scale`, or as a float.
fn pg_numeric(raw: &[u8], scale: Option<usize>, col: &str) -> Result<NumericValue> {
    if raw.len() < 8 {
        return Err(Error::data(format!("column '{col}': malformed numeric")));
    }
    let ndigits = i16::from_be_bytes([raw[0], raw[1]]) as usize;
    let weight = i16::from_be_bytes([raw[2], raw[3]]) as i32;
    let sign = u16::from_be_bytes([raw[4], raw[5]]);
    if sign == 0xC000 {
        return match scale {
            None => Ok(NumericValue::Float(f64::NAN)),
            Some(_) => Err(Error::data(format!(
                "column '{col}': NaN in a numeric column"
            ))),
        };
    }
    let digits: Vec<i64> = (0..ndigits)
        .map(|i| i64::from(i16::from_be_bytes([raw[8 + 2 * i], raw[9 + 2 * i]])))
        .collect();
    let neg = sign == 0x4000;
    match scale {
        None => {
            let mut v = 0f64;
            for (i, d) in digits.iter().enumerate() {
                v += *d as f64 * 10000f64.powi(weight - i as i32);
            }
            Ok(NumericValue::Float(if neg { -v } else { v }))
        }
        Some(scale) => {
            // value = Σ d_i · 10000^(weight - i); scaled by 10^scale.
            let mut v: i128 = 0;
            let overflow = || Error::data(format!("column '{col}': numeric value too large"));
            for (i, d) in digits.iter().enumerate() {
                let exp4 = weight - i as i32; // power of 10000
                let exp10 = exp4 * 4 + scale as i32;
                if exp10 < 0 {
                    // Digits beyond the scale: the column's type forbids them; drop.
                    let div = 10i128.pow((-exp10).min(38) as u32);
                    v = v.checked_add(i128::from(*d) / div).ok_or_else(overflow)?;
                } else {
                    let mul = 10i128.checked_pow(exp10 as u32).ok_or_else(overflow)?;
                    v = i128::from(*d)
                        .checked_mul(mul)
                        .and_then(|x| v.checked_add(x))
                        .ok_or_else(overflow)?;
                }
            }
            Ok(NumericValue::Int(if neg { -v } else { v }))
        }
    }
}

enum NumericValue {
    Int(i128),
    Float(f64),
}

fn pg_push(b: &mut Builder, kind: PgIn, raw: &[u8], col: &str) -> Result<()> {
    const EPOCH_DAYS: i32 = 10_957;
    const EPOCH_US: i64 = 946_684_800_000_000;
    let utf8 = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| Error::data(format!("column '{col}': text is not UTF-8")))
    };
    match (b, kind) {
        (Builder::Bool(v), PgIn::Bool) => v.push(Some(raw.first() == Some(&1))),
        (Builder::I16(v), PgIn::I16) => v.push(Some(i16::from_be_bytes(be(raw, col)?))),
        (Builder::I32(v), PgIn::I32) => v.push(Some(i32::from_be_bytes(be(raw, col)?))),
        (Builder::I64(v), PgIn::I64) => v.push(Some(i64::from_be_bytes(be(raw, col)?))),
        (Builder::I64(v), PgIn::Oid) => v.push(Some(i64::from(u32::from_be_bytes(be(raw, col)?)))),
        (Builder::F32(v), PgIn::F32) => v.push(Some(f32::from_be_bytes(be(raw, col)?))),
        (Builder::F64(v), PgIn::F64) => v.push(Some(f64::from_be_bytes(be(raw, col)?))),
        (Builder::Decimal(v, ..), PgIn::Numeric(s)) => match pg_numeric(raw, s, col)? {
            NumericValue::Int(i) => v.push(Some(i)),
            NumericValue::Float(_) => unreachable!("scaled numerics are integers"),
        },
        (Builder::F64(v), PgIn::Numeric(None)) => match pg_numeric(raw, None, col)? {
            NumericValue::Float(f) => v.push(Some(f)),
            NumericValue::Int(_) => unreachable!("unscaled numerics are floats"),
        },
        (Builder::Str(v), PgIn::Text) => v.push(Some(utf8(raw)?)),
        (Builder::Str(v), PgIn::Jsonb) => v.push(Some(utf8(raw.get(1..).unwrap_or(&[]))?)),
        (Builder::Str(v), PgIn::Uuid) => {
            let h = hex::encode(raw);
            v.push(Some(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )))
        }
        (Builder::Bin(v), PgIn::Bytea) => v.push(Some(raw.to_vec())),
        (Builder::Date(v), PgIn::Date) => {
            let d = i32::from_be_bytes(be(raw, col)?);
            // ±infinity are i32::MAX/MIN: no date.
            v.push((d != i32::MAX && d != i32::MIN).then(|| d + EPOCH_DAYS))
        }
        (Builder::Datetime(v, _), PgIn::Timestamp) => {
            let t = i64::from_be_bytes(be(raw, col)?);
            v.push((t != i64::MAX && t != i64::MIN).then(|| t + EPOCH_US))
        }
        (Builder::Time(v), PgIn::Time) => v.push(Some(i64::from_be_bytes(be(raw, col)?) * 1000)),
        (Builder::Duration(v), PgIn::Interval) => {
            let raw: [u8; 16] = be(raw, col)?;
            let us = i64::from_be_bytes(raw[0..8].try_into().unwrap());
            let days = i32::from_be_bytes(raw[8..12].try_into().unwrap());
            let months = i32::from_be_bytes(raw[12..16].try_into().unwrap());
            if months != 0 {
                return Err(Error::data(format!(
                    "column '{col}': an interval with months has no fixed length; cast it in --query (e.g. extract(epoch from {col}))"
                )));
            }
            v.push(Some(us + i64::from(days) * 86_400_000_000))
        }
        _ => unreachable!("builders follow the column kinds"),
    }
    Ok(())
}

fn postgres(url: &url::Url, sql: &str, mut out: Out) {
    let conn = match db::connect_postgres(url) {
        Ok(c) => c,
        Err(e) => return out.fail(e),
    };
    let result = conn.rt.block_on(async {
        let stmt = conn.client.prepare(sql).await.map_err(|e| conn.err(e))?;
        let mut kinds = Vec::new();
        let mut cols = Vec::new();
        for c in stmt.columns() {
            let (k, t) = pg_column(c)?;
            kinds.push(k);
            cols.push((c.name().to_string(), t));
        }
        let schema = schema_of(cols)?;
        let mut batcher = Batcher::new(&schema);
        let names: Vec<String> = batcher.names.clone();
        out.schema(schema);
        let rows = conn
            .client
            .query_raw(&stmt, std::iter::empty::<i32>())
            .await
            .map_err(|e| conn.err(e))?;
        use futures::StreamExt;
        futures::pin_mut!(rows);
        while let Some(row) = rows.next().await {
            let row = row.map_err(|e| conn.err(e))?;
            for (i, b) in batcher.builders.iter_mut().enumerate() {
                match row.try_get::<_, Option<Raw>>(i).map_err(|e| conn.err(e))? {
                    None => b.push_null(),
                    Some(Raw(raw)) => pg_push(b, kinds[i], raw, &names[i])?,
                }
            }
            if !batcher.row_done(&mut out)? {
                return Ok(());
            }
        }
        batcher.finish(&mut out)
    });
    if let Err(e) = result {
        out.fail(e);
    }
}

// ------------------------------------------------------------ MariaDB/MySQL

#[derive(Clone, Copy)]
enum MyIn {
    Bool,
    Int,
    UInt,
    Float,
    Decimal,
    Text,
    Bin,
    Date,
    Datetime,
    Time,
    Bit,
}

fn my_column(c: &mysql_async::Column) -> (MyIn, DataType) {
    use mysql_async::consts::{ColumnFlags, ColumnType as T};
    let unsigned = c.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = c.character_set() == 63;
    let int = |s: DataType, u: DataType| {
        if unsigned {
            (MyIn::UInt, u)
        } else {
            (MyIn::Int, s)
        }
    };
    match c.column_type() {
        T::MYSQL_TYPE_TINY if c.column_length() == 1 => (MyIn::Bool, DataType::Boolean),
        T::MYSQL_TYPE_TINY => int(DataType::Int8, DataType::UInt8),
        T::MYSQL_TYPE_SHORT | T::MYSQL_TYPE_YEAR => int(DataType::Int16, DataType::UInt16),
        T::MYSQL_TYPE_INT24 | T::MYSQL_TYPE_LONG => int(DataType::Int32, DataType::UInt32),
        T::MYSQL_TYPE_LONGLONG => int(DataType::Int64, DataType::UInt64),
        T::MYSQL_TYPE_FLOAT => (MyIn::Float, DataType::Float32),
        T::MYSQL_TYPE_DOUBLE => (MyIn::Float, DataType::Float64),
        T::MYSQL_TYPE_DECIMAL | T::MYSQL_TYPE_NEWDECIMAL => {
            let s = c.decimals() as usize;
            let len = c.column_length() as usize;
            let p = len.saturating_sub(usize::from(s > 0) + usize::from(!unsigned));
            if (1..=38).contains(&p) && s <= p {
                (MyIn::Decimal, DataType::Decimal(p, s))
            } else {
                (MyIn::Float, DataType::Float64)
            }
        }
        T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => (MyIn::Date, DataType::Date),
        T::MYSQL_TYPE_DATETIME
        | T::MYSQL_TYPE_DATETIME2
        | T::MYSQL_TYPE_TIMESTAMP
        | T::MYSQL_TYPE_TIMESTAMP2 => (
            MyIn::Datetime,
            DataType::Datetime(TimeUnit::Microseconds, None),
        ),
        T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => (MyIn::Time, DataType::Time),
        T::MYSQL_TYPE_BIT => (MyIn::Bit, DataType::UInt64),
        T::MYSQL_TYPE_GEOMETRY => (MyIn::Bin, DataType::Binary),
        T::MYSQL_TYPE_JSON => (MyIn::Text, DataType::String),
        _ if binary => (MyIn::Bin, DataType::Binary),
        _ => (MyIn::Text, DataType::String),
    }
}

fn parse<T: std::str::FromStr>(text: &str, col: &str) -> Result<T> {
    text.parse::<T>()
        .map_err(|_| Error::data(format!("column '{col}': cannot read '{text}'")))
}

/// `123.45` at `scale` → 12345.
fn decimal_of(text: &str, scale: usize, col: &str) -> Result<i128> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut frac = frac.to_string();
    frac.truncate(scale);
    while frac.len() < scale {
        frac.push('0');
    }
    let v: i128 = parse(&format!("{int}{frac}"), col)?;
    Ok(if neg { -v } else { v })
}

fn my_push(b: &mut Builder, kind: MyIn, raw: &[u8], col: &str) -> Result<()> {
    if matches!(kind, MyIn::Bin) {
        if let Builder::Bin(v) = b {
            v.push(Some(raw.to_vec()));
            return Ok(());
        }
    }
    if matches!(kind, MyIn::Bit) {
        if let Builder::U64(v) = b {
            v.push(Some(raw.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x))));
            return Ok(());
        }
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| Error::data(format!("column '{col}': text is not UTF-8")))?;
    match b {
        Builder::Bool(v) => v.push(Some(text != "0")),
        Builder::I8(v) => v.push(Some(parse(text, col)?)),
        Builder::I16(v) => v.push(Some(parse(text, col)?)),
        Builder::I32(v) => v.push(Some(parse(text, col)?)),
        Builder::I64(v) => v.push(Some(parse(text, col)?)),
        Builder::U8(v) => v.push(Some(parse(text, col)?)),
        Builder::U16(v) => v.push(Some(parse(text, col)?)),
        Builder::U32(v) => v.push(Some(parse(text, col)?)),
        Builder::U64(v) => v.push(Some(parse(text, col)?)),
        Builder::F32(v) => v.push(Some(parse(text, col)?)),
        Builder::F64(v) => v.push(Some(parse(text, col)?)),
        Builder::Decimal(v, _, s) => v.push(Some(decimal_of(text, *s, col)?)),
        Builder::Str(v) => v.push(Some(text.to_string())),
        Builder::Date(v) => {
            // Zero dates ('0000-00-00') read as null.
            let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
            v.push(d.map(|d| (d - chrono::NaiveDate::default()).num_days() as i32))
        }
        Builder::Datetime(v, _) => {
            let t = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok();
            v.push(t.map(|t| t.and_utc().timestamp_micros()))
        }
        Builder::Time(v) => {
            let t = chrono::NaiveTime::parse_from_str(text, "%H:%M:%S%.f").map_err(|_| {
                Error::data(format!(
                    "column '{col}': '{text}' is not a time of day (MariaDB TIME can exceed 24 hours or be negative; cast it in --query)"
                ))
            })?;
            use chrono::Timelike;
            v.push(Some(
                i64::from(t.num_seconds_from_midnight()) * 1_000_000_000
                    + i64::from(t.nanosecond()),
            ))
        }
        _ => unreachable!("builders follow the column kinds"),
    }
    let _ = kind;
    Ok(())
}

fn mysql(url: &url::Url, sql: &str, mut out: Out) {
    use mysql_async::prelude::*;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return out.fail(e.into()),
    };
    let result = rt.block_on(async {
        let mut conn = db::connect_mysql(url).await?;
        let me = |e: mysql_async::Error| db::mysql_error(url, &e);
        let mut result = conn.query_iter(sql).await.map_err(me)?;
        let columns = result.columns().unwrap_or_else(|| Vec::new().into());
        let mut kinds = Vec::new();
        let mut cols = Vec::new();
        for c in columns.iter() {
            let (k, t) = my_column(c);
            kinds.push(k);
            cols.push((c.name_str().to_string(), t));
        }
        let schema = schema_of(cols)?;
        let mut batcher = Batcher::new(&schema);
        let names = batcher.names.clone();
        out.schema(schema);
        while let Some(row) = result.next().await.map_err(me)? {
            for (i, b) in batcher.builders.iter_mut().enumerate() {
                match row.as_ref(i) {
                    None | Some(mysql_async::Value::NULL) => b.push_null(),
                    Some(mysql_async::Value::Bytes(raw)) => my_push(b, kinds[i], raw, &names[i])?,
                    Some(other) => {
                        let text = other.as_sql(true);
                        my_push(b, kinds[i], text.trim_matches('\'').as_bytes(), &names[i])?
                    }
                }
            }
            if !batcher.row_done(&mut out)? {
                return Ok(());
            }
        }
        batcher.finish(&mut out)?;
        drop(result);
        let _ = conn.disconnect().await;
        Ok(())
    });
    if let Err(e) = result {
        out.fail(e);
    }
}

// ------------------------------------------------------------ SQLite

fn sqlite(url: &url::Url, sql: &str, mut out: Out) {
    if let Err(e) = sqlite_read(url, sql, &mut out) {
        out.fail(e);
    }
}

fn sqlite_read(url: &url::Url, sql: &str, out: &mut Out) -> Result<()> {
    use rusqlite::types::ValueRef;
    let path = crate::sink::sqlite::path_of(url);
    if !path.exists() {
        return Err(Error::io(format!(
            "{}: no such database file",
            path.display()
        )));
    }
    let sq = |e: rusqlite::Error| Error::usage(format!("{}: {e}", path.display()));
    let conn = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::io(format!("{}: {e}", path.display())))?;
    let mut stmt = conn.prepare(sql).map_err(sq)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    // Declared types decide; columns without one (expressions) take the
    // type of their first value in the first rows.
    let declared: Vec<Option<DataType>> = stmt
        .columns()
        .iter()
        .map(|c| c.decl_type().and_then(sqlite_type))
        .collect();
    let n = names.len();
    let mut rows = stmt.query([]).map_err(sq)?;
    let mut pending: Vec<Vec<rusqlite::types::Value>> = Vec::new();
    let mut dtypes = declared.clone();
    while dtypes.iter().any(Option::is_none) && pending.len() < BATCH_ROWS {
        let Some(row) = rows.next().map_err(sq)? else {
            break;
        };
        let vals: Vec<rusqlite::types::Value> = (0..n)
            .map(|i| row.get_ref(i).map(|v| v.into()))
            .collect::<std::result::Result<_, _>>()
            .map_err(sq)?;
        for (i, v) in vals.iter().enumerate() {
            if dtypes[i].is_none() {
                dtypes[i] = match v {
                    rusqlite::types::Value::Integer(_) => Some(DataType::Int64),
                    rusqlite::types::Value::Real(_) => Some(DataType::Float64),
                    rusqlite::types::Value::Text(_) => Some(DataType::String),
                    rusqlite::types::Value::Blob(_) => Some(DataType::Binary),
                    rusqlite::types::Value::Null => None,
                };
            }
        }
        pending.push(vals);
    }
    let cols: Vec<(String, DataType)> = names
        .iter()
        .cloned()
        .zip(dtypes.into_iter().map(|d| d.unwrap_or(DataType::String)))
        .collect();
    let schema = schema_of(cols)?;
    let mut batcher = Batcher::new(&schema);
    out.schema(schema);
    let push = |b: &mut Builder, v: ValueRef<'_>, col: &str| -> Result<()> {
        let bad = |what: &str| {
            Error::data(format!(
                "{}: column '{col}' holds {what} among values of another type; cast it in --query",
                path.display()
            ))
        };
        match (b, v) {
            (b, ValueRef::Null) => b.push_null(),
            (Builder::I64(v), ValueRef::Integer(i)) => v.push(Some(i)),
            (Builder::Bool(v), ValueRef::Integer(i)) => v.push(Some(i != 0)),
            (Builder::F64(v), ValueRef::Integer(i)) => v.push(Some(i as f64)),
            (Builder::F64(v), ValueRef::Real(f)) => v.push(Some(f)),
            (Builder::Str(v), ValueRef::Text(t)) => {
                v.push(Some(String::from_utf8_lossy(t).into_owned()))
            }
            (Builder::Str(v), ValueRef::Integer(i)) => v.push(Some(i.to_string())),
            (Builder::Str(v), ValueRef::Real(f)) => v.push(Some(f.to_string())),
            (Builder::Bin(v), ValueRef::Blob(b)) => v.push(Some(b.to_vec())),
            (Builder::Bin(v), ValueRef::Text(t)) => v.push(Some(t.to_vec())),
            (_, ValueRef::Text(_)) => return Err(bad("text")),
            (_, ValueRef::Blob(_)) => return Err(bad("a blob")),
            (_, ValueRef::Real(_)) => return Err(bad("a real number")),
            (_, ValueRef::Integer(_)) => return Err(bad("an integer")),
        }
        Ok(())
    };
    for vals in pending {
        for (i, v) in vals.iter().enumerate() {
            push(&mut batcher.builders[i], v.into(), &names[i])?;
        }
        if !batcher.row_done(out)? {
            return Ok(());
        }
    }
    while let Some(row) = rows.next().map_err(sq)? {
        for (i, (b, name)) in batcher.builders.iter_mut().zip(&names).enumerate() {
            push(b, row.get_ref(i).map_err(sq)?, name)?;
        }
        if !batcher.row_done(out)? {
            return Ok(());
        }
    }
    batcher.finish(out)
}

/// SQLite's type affinity rules, for a declared column type.
fn sqlite_type(decl: &str) -> Option<DataType> {
    let d = decl.to_ascii_uppercase();
    Some(if d.contains("INT") {
        DataType::Int64
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        DataType::String
    } else if d.contains("BLOB") {
        DataType::Binary
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        DataType::Float64
    } else if d.contains("BOOL") {
        DataType::Boolean
    } else if d.contains("NUMERIC") || d.contains("DECIMAL") {
        DataType::Float64
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerics_decode_at_their_scale() {
        let mut buf = Vec::new();
        crate::sink::pgcopy::numeric(-12345, 2, &mut buf);
        match pg_numeric(&buf, Some(2), "x").unwrap() {
            NumericValue::Int(v) => assert_eq!(v, -12345),
            NumericValue::Float(_) => panic!(),
        }
        match pg_numeric(&buf, None, "x").unwrap() {
            NumericValue::Float(v) => assert!((v + 123.45).abs() < 1e-9),
            NumericValue::Int(_) => panic!(),
        }
        assert_eq!(decimal_of("-0.05", 2, "x").unwrap(), -5);
        assert_eq!(decimal_of("12", 3, "x").unwrap(), 12000);
    }
}
