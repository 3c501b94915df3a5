//! Hive-partitioned Parquet in one pass: each batch is split by the
//! partition columns and its rows routed to their partition's writer. Memory
//! is bounded by a budget for rows waiting to fill a row group, and open
//! files by a cap: past it the least recently used partition's file is
//! finished, and a later row of that partition starts its next part file.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;

use crate::error::Result;

/// Rows per row group (polars' own default for Parquet).
const ROW_GROUP: usize = 512 * 512;
/// Bytes of rows waiting in memory, all partitions together.
const PENDING_BUDGET: usize = 256 << 20;
/// Part files open at once.
const MAX_OPEN: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Limits {
    row_group: usize,
    pending_budget: usize,
    max_open: usize,
}

const LIMITS: Limits = Limits {
    row_group: ROW_GROUP,
    pending_budget: PENDING_BUDGET,
    max_open: MAX_OPEN,
};

/// One partition folder: rows waiting, and the part file being written.
struct Part {
    pending: Vec<DataFrame>,
    pending_rows: usize,
    pending_bytes: usize,
    writer: Option<BatchedWriter<File>>,
    /// The number of the next part file of this partition.
    next_file: u32,
    last_used: u64,
}

pub struct PartitionFiles {
    limits: Limits,
    staging: PathBuf,
    run: String,
    keys: Vec<String>,
    compression: ParquetCompression,
    /// The written columns: the input's without the partition keys.
    schema: Option<Schema>,
    parts: HashMap<PathBuf, Part>,
    open: usize,
    pending_bytes: usize,
    clock: u64,
    rows: u64,
}

impl PartitionFiles {
    pub fn new(staging: &Path, run: &str, keys: &[String], codec: crate::format::Codec) -> Self {
        PartitionFiles {
            limits: LIMITS,
            staging: staging.to_path_buf(),
            run: run.to_string(),
            keys: keys.to_vec(),
            compression: crate::format::parquet::compression(codec),
            schema: None,
            parts: HashMap::new(),
            open: 0,
            pending_bytes: 0,
            clock: 0,
            rows: 0,
        }
    }

    /// Routes the rows of `df` to their partitions; `folder` names the
    /// folder of one partition's key values (given as the first row).
    pub fn write(
        &mut self,
        df: &DataFrame,
        folder: &dyn Fn(&DataFrame) -> Result<PathBuf>,
    ) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        for group in df.partition_by_stable(self.keys.iter().map(|k| k.as_str()), true)? {
            let rel = folder(&group)?;
            let data = group.drop_many(self.keys.iter().map(|k| k.as_str()));
            if self.schema.is_none() {
                self.schema = Some(data.schema().as_ref().clone());
            }
            self.clock += 1;
            let size = data.estimated_size();
            let part = self.parts.entry(rel.clone()).or_insert_with(|| Part {
                pending: Vec::new(),
                pending_rows: 0,
                pending_bytes: 0,
                writer: None,
                next_file: 0,
                last_used: 0,
            });
            part.pending_rows += data.height();
            part.pending_bytes += size;
            part.last_used = self.clock;
            part.pending.push(data);
            self.pending_bytes += size;
            if part.pending_rows >= self.limits.row_group {
                self.flush(&rel)?;
            }
        }
        while self.pending_bytes > self.limits.pending_budget {
            let Some(largest) = self
                .parts
                .iter()
                .max_by_key(|(_, p)| p.pending_bytes)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.flush(&largest)?;
        }
        crate::progress::rows(self.rows + self.pending_rows() as u64);
        Ok(())
    }

    fn pending_rows(&self) -> usize {
        self.parts.values().map(|p| p.pending_rows).sum()
    }

    /// Writes a partition's waiting rows as one row group.
    fn flush(&mut self, rel: &Path) -> Result<()> {
        let needs_open = self.parts.get(rel).is_some_and(|p| p.writer.is_none());
        if needs_open {
            if self.open >= self.limits.max_open {
                self.close_least_recent()?;
            }
            let part = self.parts.get_mut(rel).expect("known partition");
            let dir = self.staging.join(rel);
            std::fs::create_dir_all(&dir)?;
            let name = format!("part-{}-{:05}.parquet", self.run, part.next_file);
            part.next_file += 1;
            let file = File::create(dir.join(name))?;
            let schema = self.schema.as_ref().expect("set by the first batch");
            part.writer = Some(
                ParquetWriter::new(file)
                    .with_compression(self.compression)
                    .batched(schema)?,
            );
            self.open += 1;
        }
        let part = self.parts.get_mut(rel).expect("known partition");
        let mut frames = std::mem::take(&mut part.pending).into_iter();
        if let Some(mut group) = frames.next() {
            for f in frames {
                group.vstack_mut_owned(f)?;
            }
            // polars writes one row group per chunk: make it one chunk.
            group.rechunk_mut();
            part.writer
                .as_mut()
                .expect("opened above")
                .write_batch(&group)?;
            self.rows += group.height() as u64;
        }
        self.pending_bytes -= part.pending_bytes;
        part.pending_rows = 0;
        part.pending_bytes = 0;
        Ok(())
    }

    /// Finishes the part file used longest ago (its waiting rows written first).
    fn close_least_recent(&mut self) -> Result<()> {
        let oldest = self
            .parts
            .iter()
            .filter(|(_, p)| p.writer.is_some())
            .min_by_key(|(_, p)| p.last_used)
            .map(|(k, _)| k.clone());
        if let Some(rel) = oldest {
            if self.parts[&rel].pending_rows > 0 {
                self.flush(&rel)?;
            }
            if let Some(w) = self.parts.get_mut(&rel).and_then(|p| p.writer.take()) {
                w.finish()?;
                self.open -= 1;
            }
        }
        Ok(())
    }

    /// Writes every waiting row and finishes every file; the rows written.
    pub fn finish(mut self) -> Result<u64> {
        let waiting: Vec<PathBuf> = self
            .parts
            .iter()
            .filter(|(_, p)| p.pending_rows > 0)
            .map(|(k, _)| k.clone())
            .collect();
        for rel in waiting {
            self.flush(&rel)?;
        }
        for part in self.parts.values_mut() {
            if let Some(w) = part.writer.take() {
                w.finish()?;
            }
        }
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_past_the_open_file_cap_continue_in_new_part_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut files =
            PartitionFiles::new(dir.path(), "r", &["k".into()], crate::format::Codec::Snappy);
        files.limits = Limits {
            row_group: 2,
            pending_budget: 1 << 20,
            max_open: 2,
        };
        let folder = |g: &DataFrame| -> Result<PathBuf> {
            Ok(PathBuf::from(format!("k={}", g.column("k")?.get(0)?)))
        };
        let mut expected = std::collections::BTreeMap::new();
        for round in 0..3i64 {
            let keys: Vec<i64> = (0..12).map(|i| i % 4).collect();
            let values: Vec<i64> = (0..12).map(|i| round * 100 + i).collect();
            for k in &keys {
                *expected.entry(*k).or_insert(0usize) += 1;
            }
            let df = df!("k" => keys, "v" => values).unwrap();
            files.write(&df, &folder).unwrap();
        }
        assert_eq!(files.finish().unwrap(), 36);
        for (k, rows) in expected {
            let part = dir.path().join(format!("k={k}"));
            let mut names: Vec<PathBuf> = std::fs::read_dir(&part)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            // Closed and reopened: more than one part file per partition.
            assert!(names.len() > 1, "{names:?}");
            let on_disk: usize = names
                .iter()
                .map(|f| crate::format::parquet::row_count(f).unwrap())
                .sum();
            assert_eq!(on_disk, rows, "k={k}");
            // The key is in the folder's name, not in the file (a scan
            // would add it back from the Hive path).
            let first = ParquetReader::new(File::open(&names[0]).unwrap())
                .finish()
                .unwrap();
            assert_eq!(first.get_column_names(), ["v"]);
        }
    }
}
