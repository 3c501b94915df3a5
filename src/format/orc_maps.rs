//! orc-rust names a map's entry fields `keys` and `values`; Arrow, Spark,
//! DuckDB and polars users (and the files etl writes) say `key` and
//! `value`. These rename them, at any depth, in a schema and in its data.

use std::sync::Arc;

use arrow::array::{
    Array as _, ArrayRef, AsArray, GenericListArray, MapArray, OffsetSizeTrait, StructArray,
};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema};

/// The schema with every map's entries named `key` and `value`.
pub fn standard_schema(schema: &Schema) -> Arc<Schema> {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            f.as_ref()
                .clone()
                .with_data_type(standard_type(f.data_type()))
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn entry_fields(key: &Field, value: &Field) -> Fields {
    Fields::from(vec![
        Field::new("key", standard_type(key.data_type()), false),
        Field::new(
            "value",
            standard_type(value.data_type()),
            value.is_nullable(),
        ),
    ])
}

fn standard_type(dtype: &DataType) -> DataType {
    match dtype {
        DataType::Map(entries, ordered) => match entries.data_type() {
            DataType::Struct(fs) if fs.len() == 2 => DataType::Map(
                Arc::new(Field::new(
                    entries.name(),
                    DataType::Struct(entry_fields(&fs[0], &fs[1])),
                    false,
                )),
                *ordered,
            ),
            _ => dtype.clone(),
        },
        DataType::Struct(fs) => DataType::Struct(
            fs.iter()
                .map(|f| {
                    f.as_ref()
                        .clone()
                        .with_data_type(standard_type(f.data_type()))
                })
                .collect(),
        ),
        DataType::List(f) => DataType::List(Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(standard_type(f.data_type())),
        )),
        DataType::LargeList(f) => DataType::LargeList(Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(standard_type(f.data_type())),
        )),
        other => other.clone(),
    }
}

/// The array with every map's entries named `key` and `value` (the same
/// buffers; only the field names change).
pub fn standard_array(array: &ArrayRef) -> Result<ArrayRef, String> {
    let err = |e: arrow::error::ArrowError| e.to_string();
    Ok(match array.data_type() {
        DataType::Map(entries_field, ordered) => {
            let map = array.as_map();
            let entries = map.entries();
            let (DataType::Struct(fs), 2) = (entries_field.data_type(), entries.num_columns())
            else {
                return Ok(array.clone());
            };
            let columns = vec![
                standard_array(entries.column(0))?,
                standard_array(entries.column(1))?,
            ];
            let fields = entry_fields(&fs[0], &fs[1]);
            let entries = StructArray::try_new(fields.clone(), columns, entries.nulls().cloned())
                .map_err(err)?;
            let field = Arc::new(Field::new(
                entries_field.name(),
                DataType::Struct(fields),
                false,
            ));
            Arc::new(
                MapArray::try_new(
                    field,
                    map.offsets().clone(),
                    entries,
                    map.nulls().cloned(),
                    *ordered,
                )
                .map_err(err)?,
            )
        }
        DataType::Struct(_) => {
            let s = array.as_struct();
            let columns = s
                .columns()
                .iter()
                .map(standard_array)
                .collect::<Result<Vec<_>, _>>()?;
            let fields: Fields = s
                .fields()
                .iter()
                .zip(&columns)
                .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
                .collect();
            Arc::new(StructArray::try_new(fields, columns, s.nulls().cloned()).map_err(err)?)
        }
        DataType::List(f) => list::<i32>(array, f)?,
        DataType::LargeList(f) => list::<i64>(array, f)?,
        _ => array.clone(),
    })
}

fn list<O: OffsetSizeTrait>(array: &ArrayRef, field: &FieldRef) -> Result<ArrayRef, String> {
    let l = array.as_list::<O>();
    let values = standard_array(l.values())?;
    let field = Arc::new(
        field
            .as_ref()
            .clone()
            .with_data_type(values.data_type().clone()),
    );
    let list =
        GenericListArray::<O>::try_new(field, l.offsets().clone(), values, l.nulls().cloned())
            .map_err(|e| e.to_string())?;
    Ok(Arc::new(list))
}
