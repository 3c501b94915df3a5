//! arrow-rs ⇄ polars at the edge, through the Arrow C Data Interface (zero
//! copy). The ORC and Avro crates speak arrow-rs; the engine speaks polars.
//! Every cast between the two libraries' C structs lives here.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field as ArrowRsField, Schema as ArrowRsSchema};
use arrow::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use polars::prelude::*;
use polars_arrow::ffi as pffi;

use crate::error::{Error, Result};

/// The polars schema of an arrow-rs schema.
pub fn polars_schema(schema: &ArrowRsSchema) -> std::result::Result<Schema, String> {
    let mut out = Schema::default();
    for field in schema.fields() {
        let c = FFI_ArrowSchema::try_from(field.as_ref()).map_err(|e| e.to_string())?;
        // SAFETY: arrow-rs' FFI_ArrowSchema and polars' ArrowSchema are both
        // #[repr(C)] renderings of the C Data Interface's ArrowSchema; `c`
        // outlives the borrow, and import_field_from_c only reads it.
        let f = unsafe {
            pffi::import_field_from_c(&*(&c as *const FFI_ArrowSchema as *const pffi::ArrowSchema))
        }
        .map_err(|e| e.to_string())?;
        out.with_column(f.name.clone(), DataType::from_arrow_field(&f));
    }
    Ok(out)
}

/// arrow-rs batch to polars DataFrame.
pub fn to_polars(batch: &RecordBatch) -> std::result::Result<DataFrame, String> {
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        let (c_array, c_schema) = to_ffi(&array.to_data()).map_err(|e| e.to_string())?;
        // SAFETY: both sides are #[repr(C)] C Data Interface structs of the
        // same layout. The array is moved (transmuted by value) into polars,
        // which takes over its release callback; the schema is only read.
        let series = unsafe {
            let c_schema = &*(&c_schema as *const FFI_ArrowSchema as *const pffi::ArrowSchema);
            let pfield = pffi::import_field_from_c(c_schema).map_err(|e| e.to_string())?;
            let c_array: pffi::ArrowArray =
                std::mem::transmute::<FFI_ArrowArray, pffi::ArrowArray>(c_array);
            let parray = pffi::import_array_from_c(c_array, pfield.dtype().clone())
                .map_err(|e| e.to_string())?;
            Series::from_arrow(field.name().as_str().into(), parray).map_err(|e| e.to_string())?
        };
        columns.push(Column::from(series));
    }
    DataFrame::new(batch.num_rows(), columns).map_err(|e| e.to_string())
}

/// The arrow-rs field of a polars field, as `CompatLevel::oldest()` exports it
/// (large offsets, no view types: what other Arrow libraries read).
pub fn arrow_rs_field(field: &Field) -> Result<ArrowRsField> {
    let pf = field.to_arrow(CompatLevel::oldest());
    let c = pffi::export_field_to_c(&pf);
    // SAFETY: the same #[repr(C)] C Data Interface struct on both sides;
    // `c` lives until the end of this function.
    let c = unsafe { &*(&c as *const pffi::ArrowSchema as *const FFI_ArrowSchema) };
    ArrowRsField::try_from(c).map_err(|e| Error::data(e.to_string()))
}

/// The arrow-rs schema of a polars schema.
pub fn arrow_rs_schema(schema: &Schema) -> Result<ArrowRsSchema> {
    let fields = schema
        .iter_fields()
        .map(|f| arrow_rs_field(&f))
        .collect::<Result<Vec<_>>>()?;
    Ok(ArrowRsSchema::new(fields))
}

/// A polars DataFrame as arrow-rs columns, one `Vec` per chunk.
pub fn to_arrow_rs_columns(df: &DataFrame) -> Result<Vec<Vec<ArrayRef>>> {
    let fields: Vec<polars_arrow::datatypes::Field> = df
        .schema()
        .iter_fields()
        .map(|f| f.to_arrow(CompatLevel::oldest()))
        .collect();
    let mut out = Vec::new();
    for chunk in df.iter_chunks(CompatLevel::oldest(), false) {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(chunk.width());
        for (array, field) in chunk.into_arrays().into_iter().zip(&fields) {
            let c_schema = pffi::export_field_to_c(field);
            let c_array = pffi::export_array_to_c(array);
            // SAFETY: as in to_polars, the other way: identical #[repr(C)]
            // C Data Interface layouts; arrow-rs takes ownership of the
            // array's release callback, the schema is only borrowed.
            let data = unsafe {
                let c_schema = &*(&c_schema as *const pffi::ArrowSchema as *const FFI_ArrowSchema);
                let c_array: FFI_ArrowArray =
                    std::mem::transmute::<pffi::ArrowArray, FFI_ArrowArray>(c_array);
                from_ffi(c_array, c_schema).map_err(|e| Error::data(e.to_string()))?
            };
            arrays.push(arrow::array::make_array(data));
        }
        out.push(arrays);
    }
    Ok(out)
}

/// A polars DataFrame as arrow-rs batches of `schema` (one per chunk).
pub fn to_arrow_rs(df: &DataFrame, schema: &Arc<ArrowRsSchema>) -> Result<Vec<RecordBatch>> {
    to_arrow_rs_columns(df)?
        .into_iter()
        .map(|arrays| {
            RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::data(e.to_string()))
        })
        .collect()
}
