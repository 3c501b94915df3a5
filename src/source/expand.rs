//! Locations to files: globs, Spark part folders (markers and hidden files
//! skipped) and Hive-partitioned folders (`key=value` path parts).

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

fn is_hidden(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('_') || name.starts_with('.') || name.ends_with(".crc")
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
            let partitions = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .parent()
                .map(|p| {
                    p.components()
                        .filter_map(|c| c.as_os_str().to_str())
                        .filter_map(|c| c.split_once('='))
                        .map(|(k, v)| (k.to_string(), unescape_partition(v)))
                        .collect()
                })
                .unwrap_or_default();
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
}
