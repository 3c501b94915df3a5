//! SQL names the engines share: identifiers quoted per dialect (and names
//! the servers would mangle refused), `SCHEMA.TABLE` as written with
//! `--table`, the column check before loading into an existing table, and
//! staging names.

use crate::error::{Error, Result};

/// The SQL dialect an identifier is quoted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL and SQLite: `"name"` (63 bytes at most in PostgreSQL).
    Postgres,
    /// MariaDB/MySQL: `` `name` `` (64 characters at most).
    Mysql,
}

impl Dialect {
    fn quote_char(self) -> char {
        match self {
            Dialect::Postgres => '"',
            Dialect::Mysql => '`',
        }
    }

    fn max_len(self, name: &str) -> usize {
        match self {
            // PostgreSQL truncates longer names silently: refuse them instead.
            Dialect::Postgres => name.len(),
            Dialect::Mysql => name.chars().count(),
        }
    }

    fn limit(self) -> usize {
        match self {
            Dialect::Postgres => 63,
            Dialect::Mysql => 64,
        }
    }

    /// `name` as a quoted identifier; refuses names the server would
    /// mangle (empty, NUL, too long).
    pub fn ident(self, name: &str) -> Result<String> {
        check_ident(self, name)?;
        let q = self.quote_char();
        Ok(format!("{q}{}{q}", name.replace(q, &format!("{q}{q}"))))
    }
}

fn check_ident(d: Dialect, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::usage(
            "an empty name cannot be a table or column name",
        ));
    }
    if name.contains('\0') {
        return Err(Error::usage(format!(
            "name {name:?} holds a NUL character, which no database accepts"
        )));
    }
    if d == Dialect::Mysql && name.ends_with(' ') {
        return Err(Error::usage(format!(
            "name {name:?} ends with a space, which MariaDB/MySQL refuse; rename the column (etl clean --rename)"
        )));
    }
    if d.max_len(name) > d.limit() {
        return Err(Error::usage(format!(
            "name '{name}' is longer than the {} {} the database allows; rename it (etl clean --rename)",
            d.limit(),
            if d == Dialect::Postgres { "bytes" } else { "characters" }
        )));
    }
    Ok(())
}

/// A table name as written with `--table`: `TABLE` or `SCHEMA.TABLE`
/// (`DB.TABLE` in MariaDB). Parts are taken exactly as written (case kept);
/// a part holding a dot is written in double quotes: `"my.schema".t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn parse(text: &str) -> Result<TableName> {
        let parts = split_dotted(text)?;
        let bad = || {
            Error::usage(format!(
                "--table '{text}': write TABLE or SCHEMA.TABLE (double-quote a part that holds a dot: \"my.table\")"
            ))
        };
        match parts.as_slice() {
            [name] if !name.is_empty() => Ok(TableName {
                schema: None,
                name: name.clone(),
            }),
            [schema, name] if !schema.is_empty() && !name.is_empty() => Ok(TableName {
                schema: Some(schema.clone()),
                name: name.clone(),
            }),
            _ => Err(bad()),
        }
    }

    /// The quoted, qualified name: `"schema"."table"`.
    pub fn quoted(&self, d: Dialect) -> Result<String> {
        let name = d.ident(&self.name)?;
        Ok(match &self.schema {
            Some(s) => format!("{}.{name}", d.ident(s)?),
            None => name,
        })
    }

    /// A sibling table in the same schema.
    pub fn sibling(&self, name: String) -> TableName {
        TableName {
            schema: self.schema.clone(),
            name,
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// `a.b`, `"a.b".c`, `"say ""hi""".t` → parts, quotes removed.
fn split_dotted(text: &str) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if cur.is_empty() && !quoted_part => {
                quoted_part = true;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            cur.push('"');
                        }
                        Some('"') => break,
                        Some(ch) => cur.push(ch),
                        None => {
                            return Err(Error::usage(format!(
                                "--table '{text}': a double quote is not closed"
                            )))
                        }
                    }
                }
                if !matches!(chars.peek(), None | Some('.')) {
                    return Err(Error::usage(format!(
                        "--table '{text}': a quoted name must be followed by a dot or end the name"
                    )));
                }
            }
            '.' => {
                parts.push(std::mem::take(&mut cur));
                quoted_part = false;
            }
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    Ok(parts)
}
/// Compares the target's columns with the new rows' columns: new columns
/// need `--evolve`; columns missing from the new rows are an error. Names
/// compare exactly (case kept).
pub fn check_columns(old: &[String], new: &[String], evolve: bool, table: &str) -> Result<()> {
    let added: Vec<&str> = new
        .iter()
        .map(String::as_str)
        .filter(|n| !old.iter().any(|o| o == n))
        .collect();
    let missing: Vec<&str> = old
        .iter()
        .map(String::as_str)
        .filter(|o| !new.iter().any(|n| n == o))
        .collect();
    let mut problems = Vec::new();
    if !added.is_empty() && !evolve {
        problems.push(format!(
            "new columns {} (pass --evolve to add them)",
            added.join(", ")
        ));
    }
    if !missing.is_empty() {
        problems.push(format!(
            "columns {} are missing from the new rows",
            missing.join(", ")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::data(format!(
        "table '{table}': the new rows do not fit: {}",
        problems.join("; ")
    )))
}

/// A short name unique to this process and moment, for staging tables.
pub fn staging_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{nanos:x}", std::process::id())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_parse_with_and_without_quotes() {
        let t = TableName::parse("public.Sales").unwrap();
        assert_eq!(t.schema.as_deref(), Some("public"));
        assert_eq!(t.name, "Sales");
        assert_eq!(t.quoted(Dialect::Postgres).unwrap(), "\"public\".\"Sales\"");
        let t = TableName::parse("\"my.schema\".\"say \"\"hi\"\"\"").unwrap();
        assert_eq!(t.schema.as_deref(), Some("my.schema"));
        assert_eq!(t.name, "say \"hi\"");
        assert_eq!(
            t.quoted(Dialect::Mysql).unwrap(),
            "`my.schema`.`say \"hi\"`"
        );
        assert!(TableName::parse("a.b.c").is_err());
        assert!(TableName::parse(".t").is_err());
        assert!(TableName::parse("\"open").is_err());
        assert_eq!(Dialect::Mysql.ident("a`b").unwrap(), "`a``b`");
        assert!(Dialect::Postgres.ident(&"x".repeat(64)).is_err());
        assert!(Dialect::Postgres.ident("nul\0").is_err());
    }
}
