//! What a pipeline stage does on Spark: ingest (read → Parquet), ops
//! (Parquet → views, one per op → Parquet), and pulling a dataset back.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;

use super::client::{self, Session};
use super::proto;
use super::remote::Remote;
use super::source::{self, SparkRead};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::ops::spark::{self as translate, ident, Refusal, SideView};
use crate::ops::Op;

/// A connected Spark engine, shared by a run's stages.
pub struct Engine {
    session: Session,
    views: AtomicUsize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spark engine at {}", self.session.shown())
    }
}

/// A stage's result on Spark: rows in and out, and the operations it ran.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    pub rows_in: u64,
    pub rows_out: u64,
    pub operations: Vec<String>,
}

impl Engine {
    pub fn connect(remote: &Remote) -> Result<Engine> {
        Ok(Engine {
            session: Session::connect(remote)?,
            views: AtomicUsize::new(0),
        })
    }

    pub fn shown(&self) -> String {
        self.session.shown()
    }

    fn view_name(&self, what: &str) -> String {
        format!("etl_{what}_{}", self.views.fetch_add(1, Ordering::Relaxed))
    }

    /// Reads `inputs` on the server and writes them as the dataset `output`.
    pub fn ingest(
        &self,
        inputs: &[Location],
        read: &crate::format::ReadOptions,
        source_column: Option<&str>,
        output: &Path,
    ) -> Result<Ran> {
        let before = self.session.operations().len();
        let spec = source::spark_read(inputs, read, source_column)
            .map_err(|why| Error::unsupported(format!("no Spark translation: {why}")))?;
        let view = self.register(&spec, "reading the inputs")?;
        let query = self.widened(&view, &spec)?;
        let rows_out = self.write(&query, output)?;
        Ok(Ran {
            rows_in: rows_out,
            rows_out,
            operations: self.session.operations()[before..].to_vec(),
        })
    }

    /// Runs `ops` over the dataset `input` and writes the dataset `output`.
    pub fn ops(&self, input: &Path, ops: &[Op], output: &Path) -> Result<Ran> {
        let before = self.session.operations().len();
        let mut view = self.dataset_view(input)?;
        let rows_in = self.count(&view)?;
        for (i, op) in ops.iter().enumerate() {
            let place = format!("op {} ({})", i + 1, crate::ops::name(op));
            view = self.apply(&view, op).map_err(|e| e.context(&place))?;
        }
        // An ordering op last: one partition keeps the order in the files.
        let hint = match ops.last() {
            Some(Op::Sort(_) | Op::Limit(_)) => "/*+ COALESCE(1) */ ",
            _ => "",
        };
        let rows_out = self.write(&format!("SELECT {hint}* FROM {}", ident(&view)), output)?;
        Ok(Ran {
            rows_in,
            rows_out,
            operations: self.session.operations()[before..].to_vec(),
        })
    }

    /// The dataset at `path` (written by Spark) as a local frame.
    pub fn pull(&self, path: &Path) -> Result<DataFrame> {
        let view = self.dataset_view(path)?;
        self.session.collect(
            &format!("SELECT * FROM {}", ident(&view)),
            &format!("reading {} back from Spark", path.display()),
        )
    }

    /// The operations run so far, in order.
    pub fn operations(&self) -> Vec<String> {
        self.session.operations()
    }

    fn dataset_view(&self, path: &Path) -> Result<String> {
        let spec = SparkRead {
            format: "parquet",
            options: Default::default(),
            paths: vec![server_path(path)?],
            widen: false,
        };
        self.register(&spec, &format!("reading {}", path.display()))
    }

    fn register(&self, spec: &SparkRead, what: &str) -> Result<String> {
        let view = self.view_name("read");
        let relation = client::read(spec.format, spec.paths.clone(), spec.options.clone());
        self.session.create_view(&view, relation, what)?;
        Ok(view)
    }

    fn columns(&self, view: &str) -> Result<Vec<(String, proto::DataType)>> {
        self.session.schema(
            client::sql(&format!("SELECT * FROM {}", ident(view))),
            "reading the schema",
        )
    }

    /// Text formats: Spark infers int and float where etl infers 64-bit
    /// types; widen them so both engines give the same dataset.
    fn widened(&self, view: &str, spec: &SparkRead) -> Result<String> {
        use proto::data_type::Kind;
        if !spec.widen {
            return Ok(format!("SELECT * FROM {}", ident(view)));
        }
        let items: Vec<String> = self
            .columns(view)?
            .into_iter()
            .map(|(name, t)| match t.kind {
                Some(Kind::Byte(_) | Kind::Short(_) | Kind::Integer(_)) => {
                    format!("CAST({0} AS BIGINT) AS {0}", ident(&name))
                }
                Some(Kind::Float(_)) => format!("CAST({0} AS DOUBLE) AS {0}", ident(&name)),
                _ => ident(&name),
            })
            .collect();
        Ok(format!("SELECT {} FROM {}", items.join(", "), ident(view)))
    }

    /// One op: its side tables registered, its translation made the next view.
    fn apply(&self, view: &str, op: &Op) -> Result<String> {
        let mut sides: Vec<(String, SideView)> = Vec::new();
        for location in translate::side_tables(op) {
            let spec = source::side_read(location)
                .map_err(|why| Error::unsupported(format!("no Spark translation: {why}")))?;
            let raw = self.register(&spec, &format!("reading {location}"))?;
            let side = self.view_name("side");
            self.session.create_view(
                &side,
                client::sql(&self.widened(&raw, &spec)?),
                &format!("reading {location}"),
            )?;
            let columns = self.columns(&side)?.into_iter().map(|(n, _)| n).collect();
            sides.push((
                location.to_string(),
                SideView {
                    view: side,
                    columns,
                },
            ));
        }
        let columns: Vec<String> = self.columns(view)?.into_iter().map(|(n, _)| n).collect();
        let lookup = |location: &str| {
            sides
                .iter()
                .find(|(l, _)| l == location)
                .map(|(_, s)| s.clone())
        };
        let input = translate::Input {
            view,
            columns: Some(&columns),
            side: &lookup,
        };
        let sql = match translate::translate(op, &input) {
            Ok(sql) => sql,
            Err(Refusal::NoTranslation(why)) => {
                return Err(Error::unsupported(format!("no Spark translation: {why}")))
            }
            Err(Refusal::Invalid(e)) => return Err(e),
        };
        for (name, query) in &sql.prelude {
            self.session.create_view(
                name,
                client::sql(query),
                &format!("making the view {name}"),
            )?;
        }
        let next = self.view_name("op");
        self.session
            .create_view(&next, client::sql(&sql.query), "running the op")?;
        Ok(next)
    }

    /// Writes a query's rows as the Parquet dataset `output`; gives its row count.
    fn write(&self, query: &str, output: &Path) -> Result<u64> {
        let path = server_path(output)?;
        let what = format!("writing {}", output.display());
        self.session
            .write_parquet(client::sql(query), &path, &what)?;
        let written = self.dataset_view(output)?;
        self.count(&written)
    }

    fn count(&self, view: &str) -> Result<u64> {
        let df = self.session.collect(
            &format!("SELECT count(*) AS n FROM {}", ident(view)),
            "counting rows",
        )?;
        let n = df
            .column("n")
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .ok_or_else(|| Error::io("Spark sent no row count"))?;
        Ok(n)
    }
}

fn server_path(path: &Path) -> Result<String> {
    source::server_path(&Location::Local(path.to_path_buf())).map_err(Error::io)
}
