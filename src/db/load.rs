//! One load spec for every persist target (warehouse folder, SQLite,
//! PostgreSQL, MariaDB/MySQL), and the one decision every load follows:
//! for a mode and the target table as found, which [`Steps`] run. Each
//! engine then carries the steps out in its own dialect.

use crate::error::{Error, Result};
use crate::location::Location;

/// How a load treats what the table already holds (names as in sling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadMode {
    /// Replace the whole table.
    FullRefresh,
    /// Add the new rows.
    Append,
    /// Replace the rows, keep the table (for files: as full-refresh).
    Truncate,
    /// Upsert on the primary key: new rows replace old rows with the same key.
    Incremental,
    /// Replace the partitions present in the new rows, keep the others.
    OverwritePartitions,
}

impl std::str::FromStr for LoadMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<LoadMode> {
        Ok(match s {
            "full-refresh" => LoadMode::FullRefresh,
            "append" => LoadMode::Append,
            "truncate" => LoadMode::Truncate,
            "incremental" => LoadMode::Incremental,
            "overwrite-partitions" => LoadMode::OverwritePartitions,
            other => {
                return Err(Error::usage(format!(
                    "unknown mode '{other}' (full-refresh, append, truncate, incremental, overwrite-partitions)"
                )))
            }
        })
    }
}

impl LoadMode {
    /// The name as written in flags and pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            LoadMode::FullRefresh => "full-refresh",
            LoadMode::Append => "append",
            LoadMode::Truncate => "truncate",
            LoadMode::Incremental => "incremental",
            LoadMode::OverwritePartitions => "overwrite-partitions",
        }
    }
}

/// What to load where, whatever the target's kind (`etl persist` and a
/// pipeline's persist stage both describe a load with it).
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// A warehouse folder or a database URL.
    pub target: Location,
    /// `db.table` or `table`.
    pub table: String,
    pub mode: LoadMode,
    /// Hive partition columns (warehouse folder); in a database, the columns
    /// whose values overwrite-partitions replaces.
    pub partition_by: Vec<String>,
    /// The upsert key for `incremental`.
    pub primary_key: Vec<String>,
    /// Allow new columns; without it a schema difference is an error.
    pub evolve: bool,
    /// Time series and key-value targets (InfluxDB, DynamoDB).
    pub series: SeriesOptions,
}

/// What only InfluxDB and DynamoDB targets take (src/sink/influx,
/// src/sink/dynamodb); empty for the others, which refuse it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesOptions {
    /// InfluxDB: the measurement every point goes to.
    pub measurement: Option<String>,
    /// InfluxDB: the columns written as tags (the others are fields).
    pub tags: Vec<String>,
    /// InfluxDB: the column holding each point's timestamp.
    pub time: Option<String>,
    /// DynamoDB: full-refresh may delete and recreate the table.
    pub force_recreate: bool,
}

impl SeriesOptions {
    pub fn is_empty(&self) -> bool {
        *self == SeriesOptions::default()
    }
}

/// A load as written: `etl persist` flags or a pipeline persist target
/// (`{ target = "…", table = "…", mode = "…", … }`), resolved by one
/// function with one set of messages.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LoadTarget {
    pub target: String,
    #[serde(default)]
    pub table: String,
    /// `append` when not given.
    pub mode: Option<String>,
    #[serde(default)]
    pub partition_by: Vec<String>,
    #[serde(default)]
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub evolve: bool,
    #[serde(default)]
    pub measurement: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub force_recreate: bool,
}

impl LoadTarget {
    /// The load spec: the location parsed, the mode known. What needs the
    /// target itself (does the table exist?) is checked when loading.
    pub fn resolve(&self) -> Result<LoadSpec> {
        Ok(LoadSpec {
            target: Location::parse(&self.target)?,
            table: self.table.clone(),
            mode: self.mode.as_deref().unwrap_or("append").parse()?,
            partition_by: self.partition_by.clone(),
            primary_key: self.primary_key.clone(),
            evolve: self.evolve,
            series: SeriesOptions {
                measurement: self.measurement.clone(),
                tags: self.tags.clone(),
                time: self.time.clone(),
                force_recreate: self.force_recreate,
            },
        })
    }
}

/// What a load did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadSummary {
    pub target: String,
    pub mode: String,
    pub rows: u64,
    pub partitions: usize,
    pub files: usize,
    pub seconds: f64,
    /// Rows deliberately not written: InfluxDB rows with every field null,
    /// DynamoDB rows replaced by a later row with the same key in the load.
    #[serde(default)]
    pub skipped: u64,
}

/// What an engine found out about the target table before loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub exists: bool,
    /// The table has a unique index on exactly the primary-key columns, so
    /// the engine's own upsert can merge on it.
    pub unique_key: bool,
    /// Which loads may write straight into the existing table, without a
    /// staging table first.
    pub direct: Direct,
}

/// Which loads may skip the staging table (the engine knows why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direct {
    /// Always stage.
    Never,
    /// Appending rows the table takes as they are.
    Append,
    /// Appending, or clearing the table and then appending, in one
    /// transaction that does not lock readers out for the load.
    AppendOrTruncate,
}

/// The steps a load runs, decided once for every target by [`steps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    /// Fill a new table; when `replaces`, it then takes the old one's place
    /// (full-refresh, or no table yet).
    Create { replaces: bool },
    /// Load into the existing table: its columns are checked against the
    /// new rows (new ones added with `--evolve`), `delete` removes old rows,
    /// then `write` adds the new ones, straight in or through a staging
    /// table (`staged`), all or nothing.
    Into {
        delete: Delete,
        write: Write,
        staged: bool,
    },
}

/// Which old rows a load into an existing table removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delete {
    /// None (append, or an upsert that replaces rows itself).
    Nothing,
    /// Every row (truncate).
    All,
    /// The rows whose primary key is among the new rows' (incremental without
    /// a unique index to upsert on).
    SameKey,
    /// The rows whose partition-by values are among the new rows'.
    SamePartitions,
}

/// How the new rows go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Inserted.
    Rows,
    /// Inserted, or updating the row with the same key (the engine's upsert
    /// on its unique index).
    Upsert,
}

/// The one mode → steps decision.
pub fn steps(mode: LoadMode, found: Found) -> Steps {
    if !found.exists || mode == LoadMode::FullRefresh {
        return Steps::Create {
            replaces: found.exists,
        };
    }
    let (delete, write) = match mode {
        LoadMode::Append => (Delete::Nothing, Write::Rows),
        LoadMode::Truncate => (Delete::All, Write::Rows),
        LoadMode::Incremental if found.unique_key => (Delete::Nothing, Write::Upsert),
        LoadMode::Incremental => (Delete::SameKey, Write::Rows),
        LoadMode::OverwritePartitions => (Delete::SamePartitions, Write::Rows),
        LoadMode::FullRefresh => unreachable!("full-refresh creates a new table"),
    };
    let direct = match (found.direct, delete, write) {
        (_, _, Write::Upsert) | (Direct::Never, ..) => false,
        (_, Delete::Nothing, _) => true,
        (Direct::AppendOrTruncate, Delete::All, _) => true,
        _ => false,
    };
    Steps::Into {
        delete,
        write,
        staged: !direct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(exists: bool, unique_key: bool, direct: Direct) -> Found {
        Found {
            exists,
            unique_key,
            direct,
        }
    }

    #[test]
    fn a_missing_table_or_full_refresh_creates_one() {
        for mode in [LoadMode::Append, LoadMode::Incremental, LoadMode::Truncate] {
            assert_eq!(
                steps(mode, found(false, false, Direct::Append)),
                Steps::Create { replaces: false }
            );
        }
        assert_eq!(
            steps(LoadMode::FullRefresh, found(true, true, Direct::Append)),
            Steps::Create { replaces: true }
        );
    }

    #[test]
    fn modes_map_to_deletes_and_writes() {
        let into = |mode, unique, direct| match steps(mode, found(true, unique, direct)) {
            Steps::Into {
                delete,
                write,
                staged,
            } => (delete, write, staged),
            other => panic!("{other:?}"),
        };
        use Delete::*;
        assert_eq!(
            into(LoadMode::Append, false, Direct::Append),
            (Nothing, Write::Rows, false)
        );
        assert_eq!(
            into(LoadMode::Append, false, Direct::Never),
            (Nothing, Write::Rows, true)
        );
        assert_eq!(
            into(LoadMode::Truncate, false, Direct::Append),
            (All, Write::Rows, true)
        );
        assert_eq!(
            into(LoadMode::Truncate, false, Direct::AppendOrTruncate),
            (All, Write::Rows, false)
        );
        assert_eq!(
            into(LoadMode::Incremental, true, Direct::AppendOrTruncate),
            (Nothing, Write::Upsert, true)
        );
        assert_eq!(
            into(LoadMode::Incremental, false, Direct::AppendOrTruncate),
            (SameKey, Write::Rows, true)
        );
        assert_eq!(
            into(
                LoadMode::OverwritePartitions,
                false,
                Direct::AppendOrTruncate
            ),
            (SamePartitions, Write::Rows, true)
        );
    }

    #[test]
    fn modes_parse_by_name() {
        for mode in [
            LoadMode::FullRefresh,
            LoadMode::Append,
            LoadMode::Truncate,
            LoadMode::Incremental,
            LoadMode::OverwritePartitions,
        ] {
            assert_eq!(mode.name().parse::<LoadMode>().unwrap(), mode);
            let value = clap::ValueEnum::to_possible_value(&mode).unwrap();
            assert_eq!(value.get_name(), mode.name());
        }
        let e = "upsert".parse::<LoadMode>().unwrap_err();
        assert!(
            e.message
                .contains("unknown mode 'upsert' (full-refresh, append"),
            "{}",
            e.message
        );
    }
}
