// Licensed to the Apache Software Foundation (ASF) under one
// or more contributor license agreements.  See the NOTICE file
// distributed with this work for additional information
// regarding copyright ownership.  The ASF licenses this file
// to you under the Apache License, Version 2.0 (the
// "License"); you may not use this file except in compliance
// with the License.  You may obtain a copy of the License at
//
//   http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing,
// software distributed under the License is distributed on an
// "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
// KIND, either express or implied.  See the License for the
// specific language governing permissions and limitations
// under the License.

//! Column encoders for DECIMAL and for the compound types STRUCT, LIST and MAP.
//!
//! As in the Java and C++ writers, the children of a compound column hold one
//! entry per non-null parent value: rows where the parent is null are left out
//! of the children's streams.

use std::marker::PhantomData;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, OffsetSizeTrait, UInt64Array};
use arrow::buffer::NullBuffer;
use arrow::compute::{filter, take};
use arrow::datatypes::{DataType as ArrowDataType, Decimal128Type, FieldRef, Fields};
use bytes::{BufMut, BytesMut};
use snafu::ResultExt;

use crate::encoding::boolean::BooleanEncoder;
use crate::encoding::integer::rle_v2::RleV2Encoder;
use crate::encoding::integer::{SignedEncoding, UnsignedEncoding};
use crate::encoding::PrimitiveValueEncoder;
use crate::error::{ArrowSnafu, Result, UnexpectedSnafu};
use crate::memory::EstimateMemory;

use super::column::ColumnStripeEncoder;
use super::stripe::create_encoder;
use super::{ColumnEncoding, Stream, StreamType};

/// The PRESENT stream of one column, created at the first null.
#[derive(Default)]
struct Present {
    encoder: Option<BooleanEncoder>,
    rows: usize,
}

impl Present {
    fn extend(&mut self, nulls: Option<&NullBuffer>, len: usize) {
        match (nulls.filter(|n| n.null_count() > 0), &mut self.encoder) {
            (Some(n), Some(e)) => e.extend(n),
            (Some(n), None) => {
                let mut e = BooleanEncoder::new();
                e.extend_present(self.rows);
                e.extend(n);
                self.encoder = Some(e);
            }
            (None, Some(e)) => e.extend_present(len),
            (None, None) => {}
        }
        self.rows += len;
    }

    fn finish(&mut self, streams: &mut Vec<Stream>) {
        self.rows = 0;
        if let Some(e) = self.encoder.as_mut() {
            streams.push(Stream {
                kind: StreamType::Present,
                bytes: e.finish(),
            });
        }
    }

    fn size(&self) -> usize {
        self.encoder
            .as_ref()
            .map(|e| e.estimate_memory_size())
            .unwrap_or(0)
    }
}

/// The non-null rows of a parent, as a filter mask (None: all rows).
fn valid_mask(nulls: Option<&NullBuffer>) -> Option<BooleanArray> {
    nulls
        .filter(|n| n.null_count() > 0)
        .map(|n| BooleanArray::new(n.inner().clone(), None))
}

/// DECIMAL: unscaled values as zigzag base-128 varints (DATA) and each
/// value's scale (SECONDARY, RLE v2).
pub struct DecimalColumnEncoder {
    data: BytesMut,
    scales: RleV2Encoder<i64, SignedEncoding>,
    present: Present,
}

impl DecimalColumnEncoder {
    pub fn new() -> Self {
        Self {
            data: BytesMut::new(),
            scales: RleV2Encoder::new(),
            present: Present::default(),
        }
    }

    fn write_varint(&mut self, value: i128) {
        let mut zigzag = ((value << 1) ^ (value >> 127)) as u128;
        while zigzag >= 0x80 {
            self.data.put_u8((zigzag as u8 & 0x7f) | 0x80);
            zigzag >>= 7;
        }
        self.data.put_u8(zigzag as u8);
    }
}

impl EstimateMemory for DecimalColumnEncoder {
    fn estimate_memory_size(&self) -> usize {
        self.data.len() + self.scales.estimate_memory_size() + self.present.size()
    }
}

impl ColumnStripeEncoder for DecimalColumnEncoder {
    fn encode_array(&mut self, array: &ArrayRef) -> Result<()> {
        let array = array.as_primitive::<Decimal128Type>();
        let scale = array.scale() as i64;
        self.present.extend(array.nulls(), array.len());
        for index in 0..array.len() {
            if array.is_valid(index) {
                self.write_varint(array.value(index));
                self.scales.write_one(scale);
            }
        }
        Ok(())
    }

    fn column_encoding(&self) -> ColumnEncoding {
        ColumnEncoding::DirectV2
    }

    fn finish(&mut self) -> Vec<Stream> {
        let mut streams = vec![
            Stream {
                kind: StreamType::Data,
                bytes: std::mem::take(&mut self.data).freeze(),
            },
            Stream {
                kind: StreamType::Secondary,
                bytes: self.scales.take_inner(),
            },
        ];
        self.present.finish(&mut streams);
        streams
    }
}

/// STRUCT: a PRESENT stream; the children are columns of their own.
pub struct StructColumnEncoder {
    children: Vec<Box<dyn ColumnStripeEncoder>>,
    present: Present,
}

impl StructColumnEncoder {
    pub fn new(fields: &Fields) -> Self {
        Self {
            children: fields.iter().map(create_encoder).collect(),
            present: Present::default(),
        }
    }
}

impl EstimateMemory for StructColumnEncoder {
    fn estimate_memory_size(&self) -> usize {
        self.present.size()
            + self
                .children
                .iter()
                .map(|c| c.estimate_memory_size())
                .sum::<usize>()
    }
}

impl ColumnStripeEncoder for StructColumnEncoder {
    fn encode_array(&mut self, array: &ArrayRef) -> Result<()> {
        let array = array.as_struct();
        self.present.extend(array.nulls(), array.len());
        let mask = valid_mask(array.nulls());
        for (child, encoder) in array.columns().iter().zip(self.children.iter_mut()) {
            match &mask {
                Some(mask) => encoder.encode_array(&filter(child, mask).context(ArrowSnafu)?)?,
                None => encoder.encode_array(child)?,
            }
        }
        Ok(())
    }

    fn column_encoding(&self) -> ColumnEncoding {
        ColumnEncoding::Direct
    }

    fn finish(&mut self) -> Vec<Stream> {
        let mut streams = vec![];
        self.present.finish(&mut streams);
        streams
    }

    fn column_encodings(&self) -> Vec<ColumnEncoding> {
        let mut out = vec![self.column_encoding()];
        out.extend(self.children.iter().flat_map(|c| c.column_encodings()));
        out
    }

    fn finish_columns(&mut self) -> Vec<Vec<Stream>> {
        let mut out = vec![self.finish()];
        out.extend(self.children.iter_mut().flat_map(|c| c.finish_columns()));
        out
    }
}

/// LENGTH and PRESENT streams of a LIST or MAP, and the positions of the
/// child values that belong to its non-null rows.
struct Lengths {
    lengths: RleV2Encoder<i64, UnsignedEncoding>,
    present: Present,
}

impl Default for Lengths {
    fn default() -> Self {
        Self {
            lengths: RleV2Encoder::new(),
            present: Present::default(),
        }
    }
}

/// What the children of a list or map must encode for one batch.
enum ChildRows {
    Slice(usize, usize),
    Take(UInt64Array),
}

impl ChildRows {
    fn apply(&self, values: &ArrayRef) -> Result<ArrayRef> {
        match self {
            ChildRows::Slice(start, len) => Ok(values.slice(*start, *len)),
            ChildRows::Take(indices) => take(values, indices, None).context(ArrowSnafu),
        }
    }
}

impl Lengths {
    fn encode<O: OffsetSizeTrait>(&mut self, offsets: &[O], nulls: Option<&NullBuffer>) -> ChildRows {
        let rows = offsets.len() - 1;
        self.present.extend(nulls, rows);
        match nulls.filter(|n| n.null_count() > 0) {
            None => {
                for w in offsets.windows(2) {
                    self.lengths.write_one((w[1] - w[0]).as_usize() as i64);
                }
                let start = offsets[0].as_usize();
                ChildRows::Slice(start, offsets[rows].as_usize() - start)
            }
            Some(nulls) => {
                let mut indices = Vec::new();
                for row in nulls.valid_indices() {
                    let (start, end) = (offsets[row].as_usize(), offsets[row + 1].as_usize());
                    self.lengths.write_one((end - start) as i64);
                    indices.extend(start as u64..end as u64);
                }
                ChildRows::Take(UInt64Array::from(indices))
            }
        }
    }

    fn finish(&mut self) -> Vec<Stream> {
        let mut streams = vec![Stream {
            kind: StreamType::Length,
            bytes: self.lengths.take_inner(),
        }];
        self.present.finish(&mut streams);
        streams
    }

    fn size(&self) -> usize {
        self.lengths.estimate_memory_size() + self.present.size()
    }
}

/// LIST (from Arrow List or LargeList).
pub struct ListColumnEncoder<O: OffsetSizeTrait> {
    lengths: Lengths,
    child: Box<dyn ColumnStripeEncoder>,
    _offset: PhantomData<O>,
}

impl<O: OffsetSizeTrait> ListColumnEncoder<O> {
    pub fn new(child: &FieldRef) -> Self {
        Self {
            lengths: Lengths::default(),
            child: create_encoder(child),
            _offset: PhantomData,
        }
    }
}

impl<O: OffsetSizeTrait> EstimateMemory for ListColumnEncoder<O> {
    fn estimate_memory_size(&self) -> usize {
        self.lengths.size() + self.child.estimate_memory_size()
    }
}

impl<O: OffsetSizeTrait> ColumnStripeEncoder for ListColumnEncoder<O> {
    fn encode_array(&mut self, array: &ArrayRef) -> Result<()> {
        let array = array.as_list::<O>();
        let rows = self.lengths.encode(array.value_offsets(), array.nulls());
        self.child.encode_array(&rows.apply(array.values())?)
    }

    fn column_encoding(&self) -> ColumnEncoding {
        ColumnEncoding::DirectV2
    }

    fn finish(&mut self) -> Vec<Stream> {
        self.lengths.finish()
    }

    fn column_encodings(&self) -> Vec<ColumnEncoding> {
        let mut out = vec![self.column_encoding()];
        out.extend(self.child.column_encodings());
        out
    }

    fn finish_columns(&mut self) -> Vec<Vec<Stream>> {
        let mut out = vec![self.finish()];
        out.extend(self.child.finish_columns());
        out
    }
}

/// MAP: keys and values are two child columns (no struct between them).
pub struct MapColumnEncoder {
    lengths: Lengths,
    keys: Box<dyn ColumnStripeEncoder>,
    values: Box<dyn ColumnStripeEncoder>,
}

impl MapColumnEncoder {
    pub fn new(entries: &FieldRef) -> Self {
        let ArrowDataType::Struct(fields) = entries.data_type() else {
            unreachable!("checked by the schema serializer: map entries are a struct")
        };
        Self {
            lengths: Lengths::default(),
            keys: create_encoder(&fields[0]),
            values: create_encoder(&fields[1]),
        }
    }
}

impl EstimateMemory for MapColumnEncoder {
    fn estimate_memory_size(&self) -> usize {
        self.lengths.size() + self.keys.estimate_memory_size() + self.values.estimate_memory_size()
    }
}

impl ColumnStripeEncoder for MapColumnEncoder {
    fn encode_array(&mut self, array: &ArrayRef) -> Result<()> {
        let array = array.as_map();
        let rows = self.lengths.encode(array.value_offsets(), array.nulls());
        let keys = rows.apply(array.keys())?;
        snafu::ensure!(
            keys.null_count() == 0,
            UnexpectedSnafu {
                msg: "ORC map keys cannot be null"
            }
        );
        self.keys.encode_array(&keys)?;
        self.values.encode_array(&rows.apply(array.values())?)
    }

    fn column_encoding(&self) -> ColumnEncoding {
        ColumnEncoding::DirectV2
    }

    fn finish(&mut self) -> Vec<Stream> {
        self.lengths.finish()
    }

    fn column_encodings(&self) -> Vec<ColumnEncoding> {
        let mut out = vec![self.column_encoding()];
        out.extend(self.keys.column_encodings());
        out.extend(self.values.column_encodings());
        out
    }

    fn finish_columns(&mut self) -> Vec<Vec<Stream>> {
        let mut out = vec![self.finish()];
        out.extend(self.keys.finish_columns());
        out.extend(self.values.finish_columns());
        out
    }
}
