//! Generates the Spark Connect client (prost messages + tonic client) from
//! the serialized descriptors shipped in pyspark's *_pb2.py files.
use prost::Message;
use prost_types::{field_descriptor_proto::{Label, Type}, DescriptorProto, FieldDescriptorProto, FileDescriptorProto};

fn field(name: &str, number: i32, ty: Type) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(number),
        label: Some(Label::Optional as i32),
        r#type: Some(ty as i32),
        json_name: Some(name.into()),
        ..Default::default()
    }
}

fn wkt(file: &str, msg: &str, fields: Vec<FieldDescriptorProto>) -> FileDescriptorProto {
    FileDescriptorProto {
        name: Some(file.into()),
        package: Some("google.protobuf".into()),
        message_type: vec![DescriptorProto { name: Some(msg.into()), field: fields, ..Default::default() }],
        syntax: Some("proto3".into()),
        ..Default::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).unwrap();
    let mut fds = prost_types::FileDescriptorSet::decode(bytes.as_slice()).unwrap();
    fds.file.insert(0, wkt("google/protobuf/any.proto", "Any", vec![field("type_url", 1, Type::String), field("value", 2, Type::Bytes)]));
    fds.file.insert(0, wkt("google/protobuf/timestamp.proto", "Timestamp", vec![field("seconds", 1, Type::Int64), field("nanos", 2, Type::Int32)]));
    tonic_build::configure()
        .build_server(false)
        .build_transport(false)
        .out_dir(&args[2])
        .compile_fds(fds)
        .unwrap();
}
