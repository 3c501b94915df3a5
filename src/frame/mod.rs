//! The value passed between stages: a lazy polars plan, or a stream of
//! batches arriving through a pipe, plus what is needed to explain errors.

mod concat;
mod spool;

use std::fmt;
use std::sync::Arc;

use polars::prelude::*;

use crate::error::{Error, Result};

pub use crate::format::BatchStream;
pub use concat::concat_by_name;
pub use spool::Spooled;

// A handful of frames exist per run; boxing the plan would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum FrameData {
    /// A polars plan: streamed by polars' engine when executed.
    Lazy(LazyFrame),
    /// Batches from a pipe; consumed once.
    Batches(BatchStream),
}

/// Turns an engine error into one that names the input file, line and column.
pub type Explainer = Arc<dyn Fn(&Error) -> Option<Error> + Send + Sync>;

pub struct Frame {
    pub data: FrameData,
    /// Asked in turn when executing the plan fails.
    pub explainers: Vec<Explainer>,
    /// Temporary files the plan reads; deleted when the frame is dropped.
    pub temps: Vec<Arc<tempfile::TempPath>>,
    /// The row count, when known without executing the plan.
    pub rows: Option<u64>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.data {
            FrameData::Lazy(_) => "lazy",
            FrameData::Batches(_) => "batches",
        };
        write!(f, "Frame({kind})")
    }
}

impl Frame {
    pub fn lazy(lf: LazyFrame) -> Frame {
        Frame {
            data: FrameData::Lazy(lf),
            explainers: Vec::new(),
            temps: Vec::new(),
            rows: None,
        }
    }

    pub fn batches(stream: BatchStream) -> Frame {
        Frame {
            data: FrameData::Batches(stream),
            explainers: Vec::new(),
            temps: Vec::new(),
            rows: None,
        }
    }

    pub fn from_df(df: DataFrame) -> Frame {
        let rows = Some(df.height() as u64);
        Frame {
            rows,
            ..Frame::lazy(df.lazy())
        }
    }

    pub fn with_rows(mut self, rows: u64) -> Frame {
        self.rows = Some(rows);
        self
    }

    pub fn with_explainer(mut self, e: Explainer) -> Frame {
        self.explainers.push(e);
        self
    }

    pub fn with_temp(mut self, t: tempfile::TempPath) -> Frame {
        self.temps.push(Arc::new(t));
        self
    }

    pub fn schema(&mut self) -> Result<SchemaRef> {
        match &mut self.data {
            FrameData::Lazy(lf) => Ok(lf
                .collect_schema()
                .map_err(|e| self_explain(&self.explainers, e.into()))?),
            FrameData::Batches(s) => Ok(s.schema.clone()),
        }
    }

    /// Applies a row-local transformation (select, rename, cast, filter,
    /// with_columns): to the plan, or batch by batch to a stream.
    pub fn map<F>(self, f: F) -> Result<Frame>
    where
        F: Fn(LazyFrame) -> LazyFrame + Send + Sync + 'static,
    {
        let mut frame = self.map_keep_rows(f)?;
        frame.rows = None;
        Ok(frame)
    }

    /// Like [`Frame::map`], for transformations that keep every row.
    pub fn map_keep_rows<F>(self, f: F) -> Result<Frame>
    where
        F: Fn(LazyFrame) -> LazyFrame + Send + Sync + 'static,
    {
        let Frame {
            data,
            explainers,
            temps,
            rows,
        } = self;
        let data = match data {
            FrameData::Lazy(lf) => FrameData::Lazy(f(lf)),
            FrameData::Batches(stream) => {
                let empty = DataFrame::empty_with_schema(&stream.schema);
                let schema = f(empty.lazy()).collect_schema()?;
                let f = Arc::new(f);
                let batches = stream
                    .batches
                    .map(move |batch| Ok(f(batch?.lazy()).collect()?));
                FrameData::Batches(BatchStream {
                    schema,
                    batches: Box::new(batches),
                })
            }
        };
        Ok(Frame {
            data,
            explainers,
            temps,
            rows,
        })
    }

    /// Keeps the first `n` rows; a stream stops being read after them.
    pub fn limit(self, n: usize) -> Frame {
        let Frame {
            data,
            explainers,
            temps,
            rows,
        } = self;
        let rows = rows.map(|r| r.min(n as u64));
        let data = match data {
            FrameData::Lazy(lf) => FrameData::Lazy(lf.limit(n as IdxSize)),
            FrameData::Batches(stream) => {
                let mut left = n;
                let batches = stream.batches.map_while(move |batch| {
                    if left == 0 {
                        return None;
                    }
                    Some(batch.map(|df| {
                        let take = df.height().min(left);
                        left -= take;
                        df.slice(0, take)
                    }))
                });
                FrameData::Batches(BatchStream {
                    schema: stream.schema,
                    batches: Box::new(batches),
                })
            }
        };
        Frame {
            data,
            explainers,
            temps,
            rows,
        }
    }

    /// A lazy plan over this frame; a stream is spooled to a temporary Arrow
    /// IPC file first (bounded memory, disk-backed), for operations that need
    /// the whole table (sort, join, group by, window).
    pub fn into_lazy(self) -> Result<Frame> {
        let Frame {
            data,
            explainers,
            mut temps,
            rows,
        } = self;
        let lf = match data {
            FrameData::Lazy(lf) => lf,
            FrameData::Batches(stream) => {
                let spooled = spool::write_batches(stream, &explainers)?;
                let lf = spooled.scan()?;
                temps.push(spooled.path);
                lf
            }
        };
        Ok(Frame {
            data: FrameData::Lazy(lf),
            explainers,
            temps,
            rows,
        })
    }

    /// Executes the plan on the streaming engine and hands over batches as
    /// they are produced.
    pub fn into_batches(self) -> Result<(BatchStream, FrameGuard)> {
        let Frame {
            data,
            explainers,
            temps,
            ..
        } = self;
        let guard = FrameGuard {
            explainers: explainers.clone(),
            _temps: temps,
        };
        let stream = match data {
            FrameData::Batches(stream) => stream,
            FrameData::Lazy(mut lf) => {
                let schema = lf
                    .collect_schema()
                    .map_err(|e| self_explain(&explainers, e.into()))?;
                let batches = lf.collect_batches(Engine::Streaming, true, None, true)?;
                BatchStream {
                    schema,
                    batches: Box::new(batches.map(|b| b.map_err(Error::from))),
                }
            }
        };
        Ok((stream, guard))
    }

    /// The error as the inputs explain it (file, line, column), or as is.
    pub fn explain(&self, e: Error) -> Error {
        self_explain(&self.explainers, e)
    }
}

/// What must outlive a batch stream: the temporary files it reads and the
/// explainers for its errors.
pub struct FrameGuard {
    pub explainers: Vec<Explainer>,
    _temps: Vec<Arc<tempfile::TempPath>>,
}

impl FrameGuard {
    pub fn explain(&self, e: Error) -> Error {
        self_explain(&self.explainers, e)
    }
}

fn self_explain(explainers: &[Explainer], e: Error) -> Error {
    explainers.iter().find_map(|x| x(&e)).unwrap_or(e)
}
