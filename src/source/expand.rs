//! Locations to files: globs, Spark part folders (markers and hidden files
//! skipped) and Hive-partitioned folders (`key=value` path parts). The rules
//! for what is hidden and what a path's partition values are live here
//! once, for local folders and remote prefixes alike.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::location::Location;

/// One file to read, with the Hive partition values its path carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub partitions: Vec<(String, String)>,
}

/// The files behind a location, in a stable order.
pub fn expand(location: &Location) -> Result<Vec<InputFile>> {
    match location {
        Location::Local(path) => {
            let meta =
                std::fs::metadata(path).map_err(|e| Error::from(e).context(path.display()))?;
            if meta.is_dir() {
                let mut files = Vec::new();
                walk(path, path, &mut files)?;
                if files.is_empty() {
                    return Err(Error::io(format!(
                        "{}: the folder holds no data files (names starting with _ or . and .crc files are skipped)",
                        path.display()
                    )));
                }
                Ok(files)
            } else {
                Ok(vec![InputFile {
                    path: path.clone(),
                    partitions: Vec::new(),
                }])
            }
        }
        Location::Glob(pattern) => {
            let paths = glob::glob(pattern)
                .map_err(|e| Error::usage(format!("{pattern}: bad glob pattern ({e})")))?;
            let mut files = Vec::new();
            for entry in paths {
                let path = entry.map_err(|e| Error::io(format!("{pattern}: {e}")))?;
                if path.is_dir() {
                    walk(&path, &path, &mut files)?;
                } else if !is_hidden(&path) {
                    files.push(InputFile {
                        path,
                        partitions: Vec::new(),
                    });
                }
            }
            if files.is_empty() {
                return Err(Error::io(format!("{pattern}: no files match")));
            }
            Ok(files)
        }
        Location::Stdio => Err(Error::usage("stdin cannot be combined with other inputs")),
        Location::Remote(r) => Err(Error::unsupported(format!(
            "reading tables from {}:// locations",
            r.url.scheme()
        ))),
    }
}

/// Markers (`_SUCCESS`), folders of unfinished work (`_temporary/`),
/// hidden files and checksum files are never data, as in Spark and Hive.
fn hidden_name(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.') || name.ends_with(".crc")
}

fn is_hidden(path: &Path) -> bool {
    hidden_name(path.file_name().and_then(|n| n.to_str()).unwrap_or(""))
}

/// Whether a file at this path below a folder or prefix (`a=1/part-0.csv`)
/// is data: no part of the path is hidden.
pub fn visible(relative: &str) -> bool {
    relative
        .split('/')
        .filter(|c| !c.is_empty())
        .all(|c| !hidden_name(c))
}

/// The Hive partition values in a path below a folder or prefix: every
/// `key=value` folder, values unescaped (`city=New%20York` → `New York`).
pub fn partitions_of(relative: &str) -> Vec<(String, String)> {
    let Some((folders, _file)) = relative.rsplit_once('/') else {
        return Vec::new();
    };
    folders
        .split('/')
        .filter_map(|c| c.split_once('='))
        .map(|(k, v)| (k.to_string(), unescape_partition(v)))
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<InputFile>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::from(e).context(dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
            let relative: Vec<String> = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let partitions = partitions_of(&relative.join("/"));
            out.push(InputFile { path, partitions });
        }
    }
    Ok(())
}

/// Hive escapes special characters in partition values as %XX.
fn unescape_partition(v: &str) -> String {
    url::form_urlencoded::parse(format!("v={}", v.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_values_are_unescaped_and_markers_hidden() {
        assert_eq!(unescape_partition("New%20York"), "New York");
        assert_eq!(unescape_partition("a+b"), "a+b");
        assert!(is_hidden(Path::new("out/_SUCCESS")));
        assert!(is_hidden(Path::new("out/.part-0.parquet.crc")));
        assert!(!is_hidden(Path::new("out/part-0.parquet")));
    }

    #[test]
    fn remote_relative_paths_follow_the_same_rules() {
        assert!(visible("city=New%20York/part-0.parquet"));
        assert!(!visible("_temporary/0/part-0.parquet"));
        assert!(!visible("city=a/.part-0.parquet.crc"));
        assert_eq!(
            partitions_of("year=2024/city=New%20York/part-0.parquet"),
            vec![
                ("year".to_string(), "2024".to_string()),
                ("city".to_string(), "New York".to_string())
            ]
        );
        assert!(partitions_of("part-0.parquet").is_empty());
    }
}
