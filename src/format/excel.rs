//! Excel: read any workbook calamine knows (xlsx, xlsm, xls, xlsb, ods) with
//! typed columns; write xlsx with rust_xlsxwriter in constant-memory mode.
//! calamine gives every number as a float and dates as serial numbers with
//! a date format, so column types are inferred here.

use std::io::Write;
use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};
use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook, Worksheet};

use crate::error::{Error, Result};

/// Rows an xlsx sheet holds, the header included.
pub const MAX_ROWS: usize = 1_048_576;
const EPOCH_SERIAL: f64 = 25_569.0; // 1970-01-01 in Excel's 1900 date system

pub fn read(path: &Path, sheet: Option<&str>) -> Result<DataFrame> {
    let shown = path.display().to_string();
    let opened = std::panic::catch_unwind(|| open_workbook_auto(path));
    let mut book = match opened {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return Err(Error::data(format!(
                "{shown}: not a readable Excel workbook ({e})"
            )))
        }
        Err(_) => {
            return Err(Error::data(format!(
                "{shown}: not a readable Excel workbook (corrupt file)"
            )))
        }
    };
    let names = book.sheet_names();
    let name = match sheet {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::data(format!("{shown}: the workbook has no sheets")))?,
        Some(s) => match s.parse::<usize>() {
            Ok(i) if !names.contains(&s.to_string()) => names.get(i).cloned().ok_or_else(|| {
                Error::usage(format!(
                    "{shown}: no sheet number {i} (sheets, from 0: {})",
                    names.join(", ")
                ))
            })?,
            _ if names.iter().any(|n| n == s) => s.to_string(),
            _ => {
                return Err(Error::usage(format!(
                    "{shown}: no sheet named '{s}' (sheets: {})",
                    names.join(", ")
                )))
            }
        },
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| Error::data(format!("{shown}: cannot read sheet '{name}' ({e})")))?;
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return Ok(DataFrame::empty());
    };
    let names = column_names(header);
    let body: Vec<&[Data]> = rows.collect();
    let columns = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let cells: Vec<&Data> = body
                .iter()
                .map(|r| r.get(i).unwrap_or(&Data::Empty))
                .collect();
            column(n, &cells)
                .map_err(|e| Error::data(format!("{shown}: sheet '{name}', column '{n}': {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DataFrame::new(body.len(), columns)?)
}

fn column_names(header: &[Data]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    header
        .iter()
        .enumerate()
        .map(|(i, cell)| {
            let base = match cell {
                Data::Empty => format!("column_{}", i + 1),
                Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                other => other.to_string(),
            };
            let mut name = base.clone();
            let mut n = 1;
            while !seen.insert(name.clone()) {
                n += 1;
                name = format!("{base}_{n}");
            }
            name
        })
        .collect()
}

/// One typed column from cells: bool, int, float, date, datetime or text.
fn column(name: &str, cells: &[&Data]) -> std::result::Result<Column, String> {
    let present: Vec<&Data> = cells
        .iter()
        .copied()
        .filter(|c| !matches!(c, Data::Empty))
        .collect();
    let all = |f: fn(&Data) -> bool| !present.is_empty() && present.iter().all(|c| f(c));
    let name = PlSmallStr::from(name);
    if all(|c| matches!(c, Data::Bool(_))) {
        let v: Vec<Option<bool>> = cells
            .iter()
            .map(|c| {
                if let Data::Bool(b) = c {
                    Some(*b)
                } else {
                    None
                }
            })
            .collect();
        return Ok(Column::new(name, v));
    }
    if all(|c| matches!(c, Data::Int(_) | Data::Float(_))) {
        let v: Vec<Option<f64>> = cells.iter().map(|c| number(c)).collect();
        if v.iter()
            .flatten()
            .all(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
        {
            let ints: Vec<Option<i64>> = v.iter().map(|x| x.map(|x| x as i64)).collect();
            return Ok(Column::new(name, ints));
        }
        return Ok(Column::new(name, v));
    }
    if all(|c| {
        matches!(c, Data::DateTime(d) if d.is_datetime()) || matches!(c, Data::DateTimeIso(_))
    }) {
        let v: Vec<Option<NaiveDateTime>> = cells.iter().map(|c| datetime(c)).collect();
        if v.iter()
            .flatten()
            .all(|d| d.time() == chrono::NaiveTime::MIN)
        {
            let days: Vec<Option<i32>> = v
                .iter()
                .map(|d| {
                    d.map(|d| {
                        (d.date() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
                    })
                })
                .collect();
            return Column::new(name, days)
                .cast(&DataType::Date)
                .map_err(|e| e.to_string());
        }
        let micros: Vec<Option<i64>> = v
            .iter()
            .map(|d| d.map(|d| d.and_utc().timestamp_micros()))
            .collect();
        return Column::new(name, micros)
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .map_err(|e| e.to_string());
    }
    let v: Vec<Option<String>> = cells
        .iter()
        .map(|c| match c {
            Data::Empty => None,
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Some(format!("{}", *f as i64))
            }
            Data::DateTime(d) => d.as_datetime().map(|d| d.to_string()),
            other => Some(other.to_string()),
        })
        .collect();
    Ok(Column::new(name, v))
}

fn number(c: &Data) -> Option<f64> {
    match c {
        Data::Int(i) => Some(*i as f64),
        Data::Float(f) => Some(*f),
        _ => None,
    }
}

fn datetime(c: &Data) -> Option<NaiveDateTime> {
    match c {
        Data::DateTime(d) => d.as_datetime(),
        Data::DateTimeIso(s) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(chrono::NaiveTime::MIN))
            }),
        _ => None,
    }
}

/// Writes rows into one xlsx sheet, batch by batch.
pub struct ExcelWriter<W: Write + std::io::Seek + Send> {
    book: Workbook,
    sink: Option<W>,
    row: u32,
    date: XlsxFormat,
    datetime: XlsxFormat,
}

impl ExcelWriter<std::io::Cursor<Vec<u8>>> {
    /// Finishes an in-memory workbook and returns its bytes.
    pub fn finish_into(self) -> Result<Vec<u8>> {
        Ok(self.finish()?.into_inner())
    }
}

impl<W: Write + std::io::Seek + Send> ExcelWriter<W> {
    pub fn new(sink: W, schema: &Schema) -> Result<Self> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory();
        sheet.set_name("Sheet1").map_err(xlsx_err)?;
        let bold = XlsxFormat::new().set_bold();
        for (i, name) in schema.iter_names().enumerate() {
            sheet
                .write_string_with_format(0, i as u16, name.as_str(), &bold)
                .map_err(xlsx_err)?;
        }
        Ok(ExcelWriter {
            book,
            sink: Some(sink),
            row: 1,
            date: XlsxFormat::new().set_num_format("yyyy-mm-dd"),
            datetime: XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        if self.row as usize + df.height() > MAX_ROWS {
            return Err(Error::data(format!(
                "an xlsx sheet holds at most {} data rows; this table has more (write CSV or Parquet instead, or --split)",
                MAX_ROWS - 1
            )));
        }
        // Constant-memory mode takes cells row by row, in order.
        let columns: Vec<Cells> = df
            .columns()
            .iter()
            .map(|c| Cells::new(c.as_materialized_series()))
            .collect::<Result<_>>()?;
        let sheet = self.book.worksheet_from_index(0).map_err(xlsx_err)?;
        for i in 0..df.height() {
            let row = self.row + i as u32;
            for (c, cells) in columns.iter().enumerate() {
                cells.write(sheet, row, c as u16, i, &self.date, &self.datetime)?;
            }
        }
        self.row += df.height() as u32;
        Ok(())
    }

    pub fn finish(mut self) -> Result<W> {
        let mut sink = self.sink.take().expect("finish once");
        self.book.save_to_writer(&mut sink).map_err(xlsx_err)?;
        Ok(sink)
    }
}

/// A column's values in the shape xlsx cells take.
enum Cells {
    Bool(BooleanChunked),
    Number(Float64Chunked),
    /// Excel serial day numbers, with the format to show them as dates or datetimes.
    Serial(Float64Chunked, bool),
    Text(StringChunked),
}

impl Cells {
    fn new(s: &Series) -> Result<Cells> {
        let s = s.rechunk();
        Ok(match s.dtype() {
            DataType::Boolean => Cells::Bool(s.bool()?.clone()),
            DataType::Date => {
                let days = s.cast(&DataType::Int32)?.cast(&DataType::Float64)?;
                Cells::Serial(days.f64()?.apply_values(|d| d + EPOCH_SERIAL), false)
            }
            DataType::Datetime(unit, _) => {
                let per_day = match unit {
                    TimeUnit::Nanoseconds => 86_400e9,
                    TimeUnit::Microseconds => 86_400e6,
                    TimeUnit::Milliseconds => 86_400e3,
                };
                // Excel keeps milliseconds: truncate, so 23:59:59.9999 stays on its day.
                let per_ms = per_day / 86_400e3;
                let t = s.cast(&DataType::Int64)?.cast(&DataType::Float64)?;
                Cells::Serial(
                    t.f64()?
                        .apply_values(|t| (t / per_ms).floor() * per_ms / per_day + EPOCH_SERIAL),
                    true,
                )
            }
            d if d.is_primitive_numeric() => {
                Cells::Number(s.cast(&DataType::Float64)?.f64()?.clone())
            }
            _ => Cells::Text(s.cast(&DataType::String)?.str()?.clone()),
        })
    }

    fn write(
        &self,
        sheet: &mut Worksheet,
        row: u32,
        c: u16,
        i: usize,
        date: &XlsxFormat,
        dt: &XlsxFormat,
    ) -> Result<()> {
        match self {
            Cells::Bool(v) => {
                if let Some(b) = v.get(i) {
                    sheet.write_boolean(row, c, b).map_err(xlsx_err)?;
                }
            }
            Cells::Number(v) => {
                if let Some(x) = v.get(i) {
                    sheet.write_number(row, c, x).map_err(xlsx_err)?;
                }
            }
            Cells::Serial(v, with_time) => {
                if let Some(x) = v.get(i) {
                    let when = ExcelDateTime::from_serial_datetime(x).map_err(xlsx_err)?;
                    sheet
                        .write_datetime_with_format(
                            row,
                            c,
                            &when,
                            if *with_time { dt } else { date },
                        )
                        .map_err(xlsx_err)?;
                }
            }
            Cells::Text(v) => {
                if let Some(t) = v.get(i) {
                    sheet.write_string(row, c, t).map_err(xlsx_err)?;
                }
            }
        }
        Ok(())
    }
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::data(format!("xlsx write failed: {e}"))
}
