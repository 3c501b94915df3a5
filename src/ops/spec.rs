//! The vocabulary of operations: data, not code. CLI flags of `etl clean`
//! and `etl transform`, `--ops` files and pipeline files all parse into
//! these types, and all run through [`super::apply`].
//!
//! In TOML each operation is a one-key table, in order:
//!
//! ```toml
//! [[ops]]
//! rename = { npi = "presc_id", nppes_provider_city = "presc_city" }
//! [[ops]]
//! extract = { column = "years_of_exp", pattern = '\d+', type = "int" }
//! [[ops]]
//! fill-null = { column = "trx_cnt", with = "mean", by = ["presc_id"], round = "half-away-from-zero" }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// Keep these columns, in this order: `select = ["npi", "drug_name"]`.
    Select(Vec<String>),
    /// Rename columns: `rename = { npi = "presc_id" }`.
    Rename(BTreeMap<String, String>),
    /// Remove columns: `drop = ["presc_fname", "presc_lname"]`.
    Drop(Vec<String>),
    /// Change column types: `cast = { columns = { trx_cnt = "int" } }`. A value
    /// that does not convert is an error naming row and column, unless
    /// `quarantine = true` sends its row to the rejects.
    Cast(Cast),
    /// Strip leading and trailing white space: `trim = ["presc_city"]`.
    Trim(Vec<String>),
    /// Upper-case text: `upper = ["city"]`.
    Upper(Vec<String>),
    /// Lower-case text: `lower = ["email"]`.
    Lower(Vec<String>),
    /// Title-case text: `title = ["presc_city"]`.
    Title(Vec<String>),
    /// Replace every regex match: `replace = { column = "phone", pattern = '[^0-9]', with = "" }`.
    Replace(Replace),
    /// Extract a regex group into a typed column (the first run of digits of
    /// `years_of_exp` as an integer): `extract = { column = "years_of_exp", pattern = '\d+', type = "int" }`.
    Extract(Extract),
    /// Join columns with a separator, skipping nulls:
    /// `concat = { into = "presc_fullname", columns = ["presc_fname", "presc_lname"], sep = " " }`.
    Concat(Concat),
    /// Add a column holding one value: `constant = { column = "country_name", value = "USA" }`.
    Constant(Constant),
    /// Fill nulls with a value, the column's mean/median/mode, or the mean over
    /// a partition: `fill-null = { column = "trx_cnt", with = "mean", by = ["presc_id"], round = "half-away-from-zero" }`.
    FillNull(FillNull),
    /// Drop rows with a null in any of these columns: `drop-nulls = ["presc_id", "drug_name"]`.
    DropNulls(Vec<String>),
    /// Keep one row per key (the whole row when no key): `dedup = { key = ["npi"], keep = "first" }`.
    Dedup(Dedup),
    /// Keep rows where an SQL predicate holds: `filter = "years_of_exp between 20 and 50"`.
    Filter(String),
    /// Add or replace a column computed by an SQL expression:
    /// `derive = { column = "zip_counts", sql = "size(split(zips, ' '))" }`.
    Derive(Derive),
    /// Parse text as dates or datetimes with a format:
    /// `parse-date = { column = "day", format = "%m/%d/%Y" }`.
    ParseDate(ParseDate),
    /// Map values through a two-column lookup table:
    /// `lookup = { column = "state", table = "states.csv", key = "name", value = "code" }`.
    Lookup(Lookup),
    /// Validate rows against a rule; failing rows are rejected (see `--rejects`):
    /// `check = { rule = "npi", column = "presc_id" }`.
    Check(Check),
    /// Run SQL over the table (named `input`, or `as`), with side tables:
    /// `sql = { query = "select ...", with = { city = "silver/city.parquet" } }`.
    Sql(Sql),
    /// Join another table: `join = { table = "city.parquet", on = ["state_id"], how = "inner" }`.
    Join(Join),
    /// Group and aggregate: `group-by = { by = ["presc_state"], aggs = { trx_counts = "sum(trx_cnt)" } }`.
    GroupBy(GroupBy),
    /// Number rows within partitions: `rank = { into = "r", function = "dense-rank", partition-by = ["presc_state"], order-by = ["trx_cnt desc"] }`.
    Rank(Rank),
    /// The top N rows per partition by an ordering (ties kept under dense-rank):
    /// `top-n = { n = 5, partition-by = ["presc_state"], order-by = ["trx_cnt desc"] }`.
    TopN(TopN),
    /// Order rows: `sort = ["presc_state", "trx_cnt desc"]`.
    Sort(Vec<String>),
    /// Keep the first N rows: `limit = 100`.
    Limit(usize),
    /// Append rows of other tables, by column name: `union = ["extra.parquet"]`.
    Union(Vec<String>),
    /// Add a column with the time the op runs (a UTC timestamp, the same
    /// for every row): `ingest-time = "loaded_at"`.
    IngestTime(String),
    /// Add a trained model's prediction (see `etl model fit`) as a column:
    /// `predict = { model = "models/trx.json", output = "trx_pred" }`.
    Predict(Predict),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Cast {
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub quarantine: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Replace {
    pub column: String,
    pub pattern: String,
    pub with: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Extract {
    pub column: String,
    pub pattern: String,
    /// The capture group: 0 is the whole match (default).
    #[serde(default)]
    pub group: usize,
    /// Target column (default: replace `column`).
    #[serde(default)]
    pub into: Option<String>,
    /// Type of the result (default: text).
    #[serde(default, rename = "type")]
    pub dtype: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Concat {
    pub into: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub sep: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Constant {
    pub column: String,
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FillNull {
    pub column: String,
    /// `mean`, `median`, `mode`, or a value (`value = 0` in files).
    #[serde(default)]
    pub with: Option<FillWith>,
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Compute the statistic within these partitions.
    #[serde(default)]
    pub by: Vec<String>,
    /// Round the statistic: `half-away-from-zero` (SQL's round) or `half-even`.
    #[serde(default)]
    pub round: Option<Rounding>,
    /// Cast the filled column to this type.
    #[serde(default, rename = "type")]
    pub dtype: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FillWith {
    Mean,
    Median,
    Mode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    HalfAwayFromZero,
    HalfEven,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Dedup {
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(default)]
    pub keep: Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keep {
    #[default]
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Derive {
    pub column: String,
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ParseDate {
    pub column: String,
    pub format: String,
    /// `date` (default) or `datetime`.
    #[serde(default, rename = "type")]
    pub dtype: Option<String>,
    #[serde(default)]
    pub into: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Lookup {
    pub column: String,
    /// Location of the lookup table (any readable format).
    pub table: String,
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub into: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Check {
    pub rule: Rule,
    /// The column the rule looks at (for `unique`, `columns` may name several).
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub min: Option<serde_json::Value>,
    #[serde(default)]
    pub max: Option<serde_json::Value>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub values: Vec<serde_json::Value>,
    #[serde(default)]
    pub sql: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    NotNull,
    Unique,
    Range,
    Regex,
    InSet,
    Sql,
    /// A valid US National Provider Identifier (Luhn check digit over the 80840 prefix).
    Npi,
    /// A US state or territory postal code.
    UsState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Sql {
    pub query: String,
    /// The name of the input table in the query (default `input`).
    #[serde(default, rename = "as")]
    pub name: Option<String>,
    /// Side tables: name → location.
    #[serde(default)]
    pub with: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Join {
    /// Location of the other table.
    pub table: String,
    /// Key columns with the same name on both sides.
    #[serde(default)]
    pub on: Vec<String>,
    #[serde(default)]
    pub left_on: Vec<String>,
    #[serde(default)]
    pub right_on: Vec<String>,
    #[serde(default)]
    pub how: How,
    /// Suffix for clashing column names from the other table.
    #[serde(default)]
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    #[default]
    Inner,
    Left,
    Right,
    Full,
    Semi,
    Anti,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GroupBy {
    pub by: Vec<String>,
    /// Output column → `count(*)`, `count(x)`, `count_distinct(x)`, `sum(x)`,
    /// `avg(x)`, `min(x)`, `max(x)`, `first(x)`, `last(x)`.
    pub aggs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rank {
    pub into: String,
    #[serde(default)]
    pub function: RankFunction,
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// `column`, `column desc`, optionally `nulls first|last` (default: last).
    pub order_by: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RankFunction {
    RowNumber,
    Rank,
    #[default]
    DenseRank,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TopN {
    pub n: usize,
    #[serde(default)]
    pub partition_by: Vec<String>,
    pub order_by: Vec<String>,
    #[serde(default)]
    pub function: RankFunction,
    /// Keep the rank as a column with this name.
    #[serde(default)]
    pub rank_column: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Predict {
    /// The model file written by `etl model fit`.
    pub model: String,
    /// The prediction's column (default `prediction`); classifiers also add `OUTPUT_probability`.
    #[serde(default)]
    pub output: Option<String>,
}

/// An ops file: `[[ops]]` tables, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsFile {
    pub ops: Vec<Op>,
}
