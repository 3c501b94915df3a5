//! Reading PostgreSQL: a query's rows arrive in the binary format and are
//! decoded value by value ([`super::binary::decode`]) into batches:
//!
//! | PostgreSQL | polars |
//! |---|---|
//! | boolean | Boolean |
//! | smallint / integer / bigint, oid | Int16 / Int32 / Int64 |
//! | real / double precision | Float32 / Float64 |
//! | numeric(p,s) (p ≤ 38) / numeric (no precision) | Decimal(p,s) / Float64 |
//! | text, varchar, char, json(b), uuid, enums, citext | String |
//! | bytea | Binary |
//! | date / timestamp / timestamptz | Date / Datetime(µs) / Datetime(µs, UTC) |
//! | time / interval (no months) | Time / Duration(µs) |
//!
//! Other types are refused with the column's name: cast them in `--query`.

use polars::prelude::*;

use super::binary::decode::{push, PgIn};
use crate::db::batches::{schema_of, Batcher, Out};
use crate::error::{Error, Result};

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

/// Runs `sql` and sends its rows to `out` (on the reader thread).
pub fn read(url: &url::Url, sql: &str, mut out: Out) {
    let conn = match super::connect(url) {
        Ok(c) => c,
        Err(e) => return out.fail(e),
    };
    let result = crate::runtime::get().block_on(async {
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
                    Some(Raw(raw)) => push(b, kinds[i], raw, &names[i])?,
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
