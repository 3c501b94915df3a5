//! Spark's error details on a gRPC status: `google.rpc.Status` with a
//! `google.rpc.ErrorInfo` whose metadata holds the SQLSTATE.

use std::collections::HashMap;

use prost::Message;

#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

#[derive(Clone, PartialEq, Message)]
struct ErrorInfo {
    #[prost(string, tag = "1")]
    reason: String,
    #[prost(string, tag = "2")]
    domain: String,
    #[prost(map = "string, string", tag = "3")]
    metadata: HashMap<String, String>,
}

/// The SQLSTATE Spark gave the failure, if it gave one.
pub fn sql_state(status: &tonic::Status) -> Option<String> {
    let from_details = RpcStatus::decode(status.details())
        .ok()
        .into_iter()
        .flat_map(|s| s.details)
        .filter(|a| a.type_url.ends_with("google.rpc.ErrorInfo"))
        .filter_map(|a| ErrorInfo::decode(a.value.as_slice()).ok())
        .find_map(|info| info.metadata.get("sqlState").cloned());
    from_details.or_else(|| {
        // Older servers only print it: "... SQLSTATE: 42703".
        let m = status.message();
        let at = m.find("SQLSTATE: ")? + "SQLSTATE: ".len();
        let code: String = m[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        (code.len() == 5).then_some(code)
    })
}
