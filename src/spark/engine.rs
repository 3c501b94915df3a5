//! What a pipeline stage does on Spark: ingest (read → Parquet), ops
//! (Parquet → views, one per op → Parquet), and pulling a dataset back.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use polars::prelude::*;

use super::client::{self, Mark, Session};
use super::proto;
use super::remote::Remote;
use super::source::{self, Reading, SparkRead};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::ops::spark::{self as translate, ident, Refusal, SideView};
use crate::ops::Op;

/// A connected Spark engine, shared by a run's stages.
pub struct Engine {
    session: Session,
    views: AtomicUsize,
    /// Held while an op's named views (`sql`'s `input`, its `with` tables)
    /// are made and read: stages running at once share the session.
    named_views: Mutex<()>,
    /// Folders where this machine sees what the server writes (see `write`).
    shared: Mutex<std::collections::HashMap<std::path::PathBuf, bool>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spark engine at {}", self.session.shown())
    }
}

/// A stage's result on Spark: rows in and out.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    pub rows_in: u64,
    pub rows_out: u64,
}

impl Engine {
    pub fn connect(remote: &Remote) -> Result<Engine> {
        Ok(Engine {
            session: Session::connect(remote)?,
            views: AtomicUsize::new(0),
            named_views: Mutex::new(()),
            shared: Mutex::new(Default::default()),
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
        let reading = source::reading(inputs, read, source_column)
            .map_err(|why| Error::unsupported(format!("no Spark translation: {why}")))?;
        let query = match reading {
            Reading::Spark(mut spec) => {
                if let Some(schema) = source::schema_here(&spec, inputs, read)? {
                    spec = spec.with_schema(schema);
                }
                let view = self.register(&spec, "reading the inputs")?;
                self.widened(&view, &spec)?
            }
            Reading::Sent(why) => {
                let view = self.send(inputs, read, source_column, &why)?;
                format!("SELECT * FROM {}", ident(&view))
            }
        };
        let rows_out = self.write(&query, output)?;
        Ok(Ran {
            rows_in: rows_out,
            rows_out,
        })
    }

    /// Reads `inputs` here and sends their rows as a view (`super::send`).
    fn send(
        &self,
        inputs: &[Location],
        read: &crate::format::ReadOptions,
        source_column: Option<&str>,
        why: &str,
    ) -> Result<String> {
        let (arrow, _) = super::send::arrow_stream(inputs, read, source_column, why)?;
        let view = self.view_name("sent");
        let shown = inputs
            .iter()
            .map(|l| crate::location::redact(&l.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        self.session.create_view(
            &view,
            client::local(arrow),
            &format!("sending {shown} to Spark"),
        )?;
        Ok(view)
    }

    /// Runs `ops` over the dataset `input` and writes the dataset `output`.
    pub fn ops(&self, input: &Path, ops: &[Op], output: &Path) -> Result<Ran> {
        let mut view = self.dataset_view(input)?;
        let rows_in = self.rows_of(input, &view)?;
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
        Ok(Ran { rows_in, rows_out })
    }

    /// The dataset at `path` (written by Spark) as a local frame.
    pub fn pull(&self, path: &Path) -> Result<DataFrame> {
        let view = self.dataset_view(path)?;
        self.session.collect(
            &format!("SELECT * FROM {}", ident(&view)),
            &format!("reading {} back from Spark", path.display()),
        )
    }

    /// Now, for [`Engine::operations_since`].
    pub fn mark(&self) -> Mark {
        self.session.mark()
    }

    /// The ids of the Spark operations this thread (one stage) ran since `mark`.
    pub fn operations_since(&self, mark: Mark) -> Vec<String> {
        self.session.operations_since(mark)
    }

    fn dataset_view(&self, path: &Path) -> Result<String> {
        let spec = SparkRead {
            format: "parquet",
            options: Default::default(),
            paths: vec![server_path(path)?],
            schema: None,
            widen: false,
        };
        self.register(&spec, &format!("reading {}", path.display()))
    }

    fn register(&self, spec: &SparkRead, what: &str) -> Result<String> {
        let view = self.view_name("read");
        let relation = client::read(
            spec.format,
            spec.paths.clone(),
            spec.options.clone(),
            spec.schema.clone(),
        );
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
            let (parsed, reading) = source::side_read(location)
                .map_err(|why| Error::unsupported(format!("no Spark translation: {why}")))?;
            let side = match reading {
                Reading::Spark(spec) => {
                    let raw = self.register(&spec, &format!("reading {location}"))?;
                    let side = self.view_name("side");
                    self.session.create_view(
                        &side,
                        client::sql(&self.widened(&raw, &spec)?),
                        &format!("reading {location}"),
                    )?;
                    side
                }
                Reading::Sent(why) => self.send(
                    std::slice::from_ref(&parsed),
                    &Default::default(),
                    None,
                    &why,
                )?,
            };
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
        let next = self.view_name("op");
        // A view keeps the plan it was made with: once `next` is made, the
        // named views may be replaced by another stage's.
        let _named = (!sql.prelude.is_empty())
            .then(|| self.named_views.lock().unwrap_or_else(|p| p.into_inner()));
        for (name, query) in &sql.prelude {
            self.session.create_view(
                name,
                client::sql(query),
                &format!("making the view {name}"),
            )?;
        }
        self.session
            .create_view(&next, client::sql(&sql.query), "running the op")?;
        Ok(next)
    }

    /// Writes a query's rows as the Parquet dataset `output`; gives its row
    /// count. Where this machine sees the server's files, Spark writes a
    /// staging folder beside `output`, which is swapped into place once
    /// whole: a failed stage leaves the earlier dataset as it was. Elsewhere
    /// Spark overwrites `output` itself (its commit protocol: the files
    /// appear at job commit, after the old ones are removed).
    fn write(&self, query: &str, output: &Path) -> Result<u64> {
        let what = format!("writing {}", output.display());
        if !self.sees_server_files(folder_of(output)) {
            self.session
                .write_parquet(client::sql(query), &server_path(output)?, &what)?;
            let written = self.dataset_view(output)?;
            return self.count(&written);
        }
        let staging = crate::cleanup::TempOutput::beside(output);
        self.session
            .write_parquet(client::sql(query), &server_path(&staging.path)?, &what)?;
        let rows = match footer_rows(&staging.path) {
            Some(n) => n,
            None => self.count(&self.dataset_view(&staging.path)?)?,
        };
        staging.commit(output).map_err(|e| {
            Error::from(e).context(format!(
                "moving the dataset Spark wrote into place at {}",
                output.display()
            ))
        })?;
        Ok(rows)
    }

    /// The rows of the dataset at `path` (registered as `view`): from its
    /// files' Parquet footers where this machine sees them, without a Spark
    /// job, else counted by Spark.
    fn rows_of(&self, path: &Path, view: &str) -> Result<u64> {
        if self.sees_server_files(folder_of(path)) {
            if let Some(n) = footer_rows(path) {
                return Ok(n);
            }
        }
        self.count(view)
    }

    /// Whether the files the server writes in `folder` are seen here (a
    /// server on this machine, or a shared folder): a file written here is
    /// looked for by Spark, once per folder.
    fn sees_server_files(&self, folder: &Path) -> bool {
        let mut known = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(seen) = known.get(folder) {
            return *seen;
        }
        let probe = folder.join(format!(".etl-spark-probe-{:016x}", fastrand::u64(..)));
        let seen = std::fs::create_dir_all(&probe).is_ok()
            && std::fs::write(probe.join("probe.txt"), "etl\n").is_ok()
            && server_path(&probe).is_ok_and(|path| {
                self.session
                    .collect(
                        &format!("SELECT count(*) AS n FROM text.{}", ident(&path)),
                        "checking that Spark writes where this machine sees it",
                    )
                    .ok()
                    .and_then(|df| df.column("n").ok()?.get(0).ok()?.extract::<u64>())
                    == Some(1)
            });
        let _ = std::fs::remove_dir_all(&probe);
        known.insert(folder.to_path_buf(), seen);
        seen
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

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The rows in a Parquet dataset (a file, or a folder of part files) by
/// the footers of its files; `None` when one cannot be read here.
fn footer_rows(path: &Path) -> Option<u64> {
    let files = crate::source::expand(&Location::Local(path.to_path_buf())).ok()?;
    files.iter().try_fold(0u64, |total, f| {
        crate::format::parquet::row_count(&f.path)
            .ok()
            .map(|n| total + n as u64)
    })
}

fn server_path(path: &Path) -> Result<String> {
    source::server_path(&Location::Local(path.to_path_buf())).map_err(Error::io)
}
